"""The member's own page: display name and password."""

from __future__ import annotations

from tests.helpers.factories import PASSWORD
from tests.helpers.web import field_error, login, post_form


async def test_me_shows_and_edits_display_name(client, members):
    member = await members.create("me@example.test", display_name="Before")
    await login(client, "me@example.test")
    page = await client.get("/me")
    assert page.status_code == 200 and 'value="Before"' in page.text
    r = await post_form(client, "/me", {"display_name": "After 이름"})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    page = await client.get("/me")
    assert "Your profile was saved." in page.text and 'value="After 이름"' in page.text
    assert (await members.get(member.id)).display_name == "After 이름"


async def test_bad_display_name_is_refused_inline_and_kept(client, members):
    member = await members.create("me@example.test", display_name="Before")
    await login(client, "me@example.test")
    r = await post_form(client, "/me", {"display_name": "x" * 61})
    assert r.status_code == 422
    assert "at most 60" in field_error(r.text, "display_name")
    assert 'value="' + "x" * 61 + '"' in r.text
    assert (await members.get(member.id)).display_name == "Before"


async def test_change_password_needs_the_old_one(client, members):
    await members.create("me@example.test")
    await login(client, "me@example.test")
    new = "a-brand-new-password"
    r = await post_form(
        client, "/me/password", {"old_password": "not-my-password", "new_password": new, "new_password_confirm": new}
    )
    assert r.status_code == 422
    assert "not your current password" in field_error(r.text, "old_password")
    r = await post_form(
        client, "/me/password", {"old_password": PASSWORD, "new_password": "short", "new_password_confirm": "short"}
    )
    assert r.status_code == 422 and "at least 10" in field_error(r.text, "new_password")
    r = await post_form(
        client, "/me/password", {"old_password": PASSWORD, "new_password": new, "new_password_confirm": new + "x"}
    )
    assert r.status_code == 422 and "differ" in field_error(r.text, "new_password_confirm")
    # nothing changed so far: the old password still signs in
    await post_form(client, "/logout")
    await login(client, "me@example.test", PASSWORD)
    r = await post_form(
        client, "/me/password", {"old_password": PASSWORD, "new_password": new, "new_password_confirm": new}
    )
    assert r.status_code == 303
    await post_form(client, "/logout")
    r = await post_form(client, "/login", {"email": "me@example.test", "password": PASSWORD})
    assert r.status_code == 400
    await login(client, "me@example.test", new)


async def test_signed_in_member_visiting_login_or_signup_is_sent_on(client, members):
    await members.create("me@example.test")
    await login(client, "me@example.test")
    for url in ["/login?next=/me", "/signup?next=/me"]:
        r = await client.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/me"
    r = await client.get("/login?next=https://evil.test/")
    assert r.headers["location"] == "/"


async def test_role_aware_navigation(client, members):
    await members.create("shopper@example.test")
    await members.seller("seller@example.test")
    await members.admin("admin@example.test")
    expectations = {
        "shopper@example.test": ('data-nav="apply"', ['data-nav="seller"', 'data-nav="admin"']),
        "seller@example.test": ('data-nav="seller"', ['data-nav="apply"', 'data-nav="admin"']),
        "admin@example.test": ('data-nav="admin"', ['data-nav="apply"', 'data-nav="seller"']),
    }
    for email, (present, absent) in expectations.items():
        await login(client, email)
        html = (await client.get("/")).text
        assert present in html, email
        for marker in absent:
            assert marker not in html, (email, marker)
        await post_form(client, "/logout")


async def test_a_refused_account_form_is_an_html_page(client, members):
    """A form answered with its errors (422) is the page again, never JSON."""
    from tests.helpers.web import login, post_form

    await members.create("typed@example.test")
    await login(client, "typed@example.test")
    for url, data in (
        ("/me", {"display_name": ""}),
        ("/me/password", {"old_password": "wrong", "new_password": "x", "new_password_confirm": "y"}),
        ("/me/withdraw", {"password": ""}),
        ("/me/place", {"language": "xx", "time_zone": "Nowhere/Land"}),
    ):
        r = await post_form(client, url, data)
        assert r.status_code == 422, url
        assert r.headers["content-type"].startswith("text/html"), (url, r.headers["content-type"])
