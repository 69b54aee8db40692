"""CSRF tokens: a new one at sign-in (bound to the new session, kept server-side) and at sign-out;
a token from before sign-in, another session's token or a cookie planted in the browser is refused
for a signed-in session, and nothing is changed by the refused request."""

from __future__ import annotations

import re

from tests.helpers.factories import PASSWORD
from tests.helpers.sessions import replace_session, stored_session
from tests.helpers.web import HTMX, csrf_token, login, post_form, second_browser


def csrf_cookie(response) -> str | None:
    for cookie in response.headers.get_list("set-cookie"):
        if cookie.startswith("csrftoken="):
            return cookie.split(";", 1)[0].split("=", 1)[1]
    return None


def rendered_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no token in the page"
    return match.group(1)


async def bound_token(app, client) -> str:
    session = await stored_session(app.state.settings, client.cookies["session"])
    assert session is not None
    return session["_csrf"]


async def plant(client, token: str) -> None:
    """Replace the browser's CSRF cookie, as a sibling sub-domain or a network attacker could."""
    client.cookies.delete("csrftoken")
    client.cookies.set("csrftoken", token, domain="testserver.local")


async def display_name(client) -> str:
    match = re.search(r'name="display_name"[^>]*value="([^"]*)"', (await client.get("/me")).text)
    assert match
    return match.group(1)


async def test_signing_in_issues_a_new_token_bound_to_the_session(client, app, members):
    member = await members.create()
    before = await csrf_token(client)
    response = await login(client, member.email)
    after = csrf_cookie(response)
    assert after and after != before and client.cookies["csrftoken"] == after
    assert await bound_token(app, client) == after
    page = await client.get("/me")
    assert rendered_token(page.text) == after and f'"x-csrftoken": "{after}"' in page.text
    r = await post_form(client, "/me", {"display_name": "Renamed"})
    assert r.status_code == 303 and await display_name(client) == "Renamed"


async def test_a_token_from_before_sign_in_is_refused_afterwards_and_changes_nothing(client, members):
    member = await members.create(display_name="Before")
    before = await csrf_token(client)
    await login(client, member.email)
    await plant(client, before)  # a valid pair of cookie and form token, of the anonymous visitor
    r = await client.post("/me", data={"display_name": "Forged", "_csrf_token": before})
    assert r.status_code == 403
    r = await client.post("/me", data={"display_name": "Forged"}, headers={**HTMX, "x-csrftoken": before})
    assert r.status_code == 403
    assert (await client.get("/me")).status_code == 200  # still signed in
    assert await display_name(client) == "Before"


async def test_another_visitors_valid_token_is_refused_for_a_signed_in_session(client, members):
    member = await members.create(display_name="Mine")
    await login(client, member.email)
    async with second_browser(client) as attacker:
        await attacker.get("/login")
        foreign = attacker.cookies["csrftoken"]  # signed with the shop's key, issued to someone else
        assert (
            await attacker.post("/signup/check-email", data={"email": "x@example.test", "_csrf_token": foreign})
        ).status_code < 400
    await plant(client, foreign)
    r = await client.post("/me", data={"display_name": "Forged", "_csrf_token": foreign})
    assert r.status_code == 403
    assert await display_name(client) == "Mine"


async def test_two_members_sessions_have_tokens_of_their_own(client, app, members):
    ana, bo = await members.create(display_name="Ana"), await members.create(display_name="Bo")
    await login(client, ana.email)
    ana_token = client.cookies["csrftoken"]
    async with second_browser(client) as other:
        await other.get("/login")
        token = other.cookies["csrftoken"]
        r = await other.post("/login", data={"email": bo.email, "password": PASSWORD, "_csrf_token": token})
        assert r.status_code == 303
        bo_token = other.cookies["csrftoken"]
    assert bo_token not in (ana_token, token)
    await plant(client, bo_token)  # Bo's token is no good for Ana's session
    assert (await client.post("/me", data={"display_name": "Bo's", "_csrf_token": bo_token})).status_code == 403
    await plant(client, ana_token)
    assert (await post_form(client, "/me", {"display_name": "Ana B"})).status_code == 303
    assert await display_name(client) == "Ana B"


async def test_signing_out_ends_the_token_with_the_session(client, app, members):
    member = await members.create()
    await login(client, member.email)
    bound = client.cookies["csrftoken"]
    response = await post_form(client, "/logout")
    assert response.status_code == 303
    fresh = csrf_cookie(response)
    assert fresh and fresh != bound and client.cookies["csrftoken"] == fresh
    assert rendered_token((await client.get("/login")).text) == fresh
    again = await login(client, member.email)  # the visitor's token signs in, and is replaced
    assert csrf_cookie(again) not in (None, fresh, bound)


async def test_a_session_without_its_token_is_given_one(client, app, members):
    """A session signed in before tokens were bound gets its own at its next request."""
    await login(client, (await members.create()).email)
    session_id = client.cookies["session"]
    session = await stored_session(app.state.settings, session_id)
    assert session is not None
    del session["_csrf"]
    await replace_session(app.state.settings, session_id, session)
    old = client.cookies["csrftoken"]
    r = await client.get("/me")
    given = csrf_cookie(r)
    assert given and given != old and await bound_token(app, client) == given
    assert rendered_token(r.text) == given
    assert (await post_form(client, "/me", {"display_name": "Kept"})).status_code == 303
