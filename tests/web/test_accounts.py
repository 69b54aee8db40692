"""Sign-up, login, logout, sessions and CSRF, through the app (the login limits: test_login_limits.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.members import Member
from tests.helpers.factories import PASSWORD
from tests.helpers.web import csrf_token, field_error, login, post_form


async def count_members(app) -> int:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(func.count(Member.id)))).scalar_one()


async def test_signup_creates_member_and_signs_in(client, app):
    page = await client.get("/signup")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="_csrf_token"' in page.text
    r = await post_form(
        client,
        "/signup",
        {"email": "New@Example.test", "display_name": "Newbie", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    me = await client.get("/me")
    assert me.status_code == 200
    assert "new@example.test" in me.text and "Newbie" in me.text
    async with app.state.database.transaction() as db:
        member = (await db.execute(select(Member))).scalar_one()
        assert member.password_hash.startswith("$argon2")


async def test_signup_refusals_keep_input_and_change_nothing(client, app, members):
    await members.create("taken@example.test")
    cases = [
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "TAKEN@example.test"}, "email", "already exists"),
        ({"email": "a" * 250 + "@x.test"}, "email", "at most 254"),
        ({"password": "short", "password_confirm": "short"}, "password", "at least 10"),
        ({"password_confirm": "something-else-entirely"}, "password_confirm", "differ"),
        ({"display_name": ""}, "display_name", "Enter a display name"),
        ({"display_name": "x" * 61}, "display_name", "at most 60"),
    ]
    for override, field, message in cases:
        data = {
            "email": "fresh@example.test",
            "display_name": "Fresh",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        data.update(override)
        r = await post_form(client, "/signup", data)
        assert r.status_code == 422, (override, r.status_code)
        assert message in field_error(r.text, field), (override, field_error(r.text, field))
        # what the user typed is kept (never the password)
        if field != "email":
            assert 'value="fresh@example.test"' in r.text
        assert PASSWORD not in r.text
    assert await count_members(app) == 1


async def test_inline_email_check(client, members):
    await members.create("taken@example.test")
    r = await post_form(client, "/signup/check-email", {"email": "taken@example.test"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "already exists" in r.text
    r = await post_form(client, "/signup/check-email", {"email": "free@example.test"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="e-email"></p>' in r.text.replace("\n", "")


async def test_login_honours_local_next_only(client, members):
    await members.create("shopper@example.test")
    token = await csrf_token(client)
    r = await client.post(
        "/login",
        data={"email": "shopper@example.test", "password": PASSWORD, "next": "/me", "_csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"] == "/me"
    await post_form(client, "/logout")
    for forged in ["//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)"]:
        r = await post_form(client, "/login", {"email": "shopper@example.test", "password": PASSWORD, "next": forged})
        assert r.status_code == 303 and r.headers["location"] == "/", forged
        await post_form(client, "/logout")


async def test_protected_page_redirects_anonymous_to_login_with_next(client):
    r = await client.get("/me")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/me"
    page = await client.get("/login?next=/me")
    assert 'name="next" value="/me"' in page.text


async def test_wrong_password_and_unknown_email_get_same_clear_message(client, members):
    await members.create("shopper@example.test")
    for email in ["shopper@example.test", "nobody@example.test"]:
        r = await post_form(client, "/login", {"email": email, "password": "wrong-password-123"})
        assert r.status_code == 400
        assert "Wrong email or password" in r.text
        assert f'value="{email}"' in r.text
    assert (await client.get("/me")).status_code == 303


async def test_session_id_changes_on_login_and_logout_deletes_it(client, members, app):
    await members.create("shopper@example.test")
    # an attacker plants a session id in the victim's browser before they sign in
    planted = "a" * 64
    client.cookies.set("session", planted, domain="testserver.local")
    await login(client, "shopper@example.test")
    after = client.cookies.get("session")
    assert after and after != "null" and after != planted
    store = app.stores.get("sessions")

    def stored(session_id: str) -> bytes | None:
        # the store belongs to the app's event loop (Redis client), so ask it there
        return client.blocking_portal.call(store.get, session_id)

    assert stored(after) is not None
    assert stored(planted) is None
    r = await post_form(client, "/logout")
    assert r.status_code == 303
    assert stored(after) is None
    # the old cookie replayed does not work any more
    client.cookies.set("session", after, domain="testserver.local")
    assert (await client.get("/me")).status_code == 303


async def test_post_without_csrf_token_is_refused_and_changes_nothing(client, app):
    await client.get("/signup")
    data = {"email": "x@example.test", "display_name": "X", "password": PASSWORD, "password_confirm": PASSWORD}
    r = await client.post("/signup", data=data)
    assert r.status_code == 403
    assert "expired" in r.text
    r = await client.post("/signup", data={**data, "_csrf_token": "forged"})
    assert r.status_code == 403
    # HTMX requests carry the token in a header
    r = await client.post("/signup/check-email", data={"email": "a@b.test"}, headers={"HX-Request": "true"})
    assert r.status_code == 403
    r = await client.post(
        "/signup/check-email",
        data={"email": "a@b.test"},
        headers={"HX-Request": "true", "x-csrftoken": await csrf_token(client)},
    )
    assert r.status_code == 200
    assert await count_members(app) == 0
