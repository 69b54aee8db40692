"""The session cookie follows the session's renewal (re-sent once a tenth of its life has passed,
without a store write on other requests), and a session ends its absolute lifetime after sign-in
whatever its activity."""

from __future__ import annotations

import time

from litestar.testing import AsyncTestClient

from app.settings import Settings
from app.web.sessions import COOKIE_SENT_KEY, STARTED_KEY, RotatingSessionBackend
from tasks.web import create_app
from tests.helpers.sessions import replace_session, stored_session
from tests.helpers.web import login

DAY = 24 * 3600


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]


async def signed_in(client, members) -> None:
    """Signed in, the welcome message shown (taking it out of the session is a change)."""
    await login(client, (await members.create()).email)
    assert (await client.get("/me")).status_code == 200


async def stored(app, client) -> dict:
    session = await stored_session(app.state.settings, client.cookies["session"])
    assert session is not None, "no session record"
    return session


async def backdate(app, client, **seconds_ago: int) -> None:
    """Move the session's recorded times back (``started=…``, ``cookie_at=…`` seconds)."""
    session = await stored(app, client)
    keys = {"started": STARTED_KEY, "cookie_at": COOKIE_SENT_KEY}
    for name, ago in seconds_ago.items():
        session[keys[name]] = int(time.time()) - ago
    await replace_session(app.state.settings, client.cookies["session"], session)


def count_writes(app, monkeypatch) -> list[str]:
    """The session ids whose record the app writes from now on (the real backend writes them; the
    store's own expiry renewal on a read is not a write of the session)."""
    writes: list[str] = []
    original = RotatingSessionBackend.set

    async def counting_set(self, session_id, data, store):
        writes.append(session_id)
        return await original(self, session_id, data, store)

    monkeypatch.setattr(RotatingSessionBackend, "set", counting_set)
    return writes


async def test_a_session_unchanged_and_recently_sent_costs_no_write_and_no_cookie(client, app, members, monkeypatch):
    await signed_in(client, members)
    session = await stored(app, client)
    assert session[STARTED_KEY] == session[COOKIE_SENT_KEY] and abs(session[STARTED_KEY] - time.time()) < 5
    writes = count_writes(app, monkeypatch)
    for _ in range(3):
        r = await client.get("/me")
        assert r.status_code == 200 and session_cookies(r) == []
    assert writes == []


async def test_the_cookie_is_re_sent_with_a_full_life_once_a_tenth_of_it_has_passed(
    client, app, members, settings, monkeypatch
):
    await signed_in(client, members)
    session_id = client.cookies["session"]
    await backdate(app, client, started=2 * DAY, cookie_at=2 * DAY)  # over 1.4 days: a tenth of 14
    writes = count_writes(app, monkeypatch)

    r = await client.get("/me")
    assert r.status_code == 200
    [cookie] = session_cookies(r)
    assert cookie.startswith(f"session={session_id};") and f"Max-Age={settings.session_max_age}" in cookie
    assert writes == [session_id]
    session = await stored(app, client)
    assert abs(session[COOKIE_SENT_KEY] - time.time()) < 5
    assert time.time() - session[STARTED_KEY] > 2 * DAY - 5  # the absolute lifetime still counts from sign-in

    r = await client.get("/me")
    assert session_cookies(r) == [] and writes == [session_id]


async def test_a_cookie_sent_a_day_ago_is_not_re_sent(client, app, members, monkeypatch):
    await signed_in(client, members)
    await backdate(app, client, cookie_at=DAY)
    writes = count_writes(app, monkeypatch)
    r = await client.get("/me")
    assert r.status_code == 200 and session_cookies(r) == [] and writes == []


async def test_a_session_ends_thirty_days_after_sign_in_however_active(client, app, members, settings):
    assert settings.session_absolute_seconds == 30 * DAY
    await login(client, (await members.create()).email)
    old_id = client.cookies["session"]
    await backdate(app, client, started=30 * DAY - 60, cookie_at=60)
    assert (await client.get("/me")).status_code == 200

    await backdate(app, client, started=30 * DAY + 1, cookie_at=60)
    r = await client.get("/me")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert await stored_session(app.state.settings, old_id) is None
    [cookie] = session_cookies(r)
    assert cookie.startswith("session=null;")  # the browser forgets it


async def test_signing_in_again_starts_a_new_session_with_a_new_id(client, app, members):
    member = await members.create()
    await login(client, member.email)
    first = client.cookies["session"]
    await backdate(app, client, started=31 * DAY)
    assert (await client.get("/me")).status_code == 303
    await login(client, member.email)
    assert client.cookies["session"] != first
    assert abs((await stored(app, client))[STARTED_KEY] - time.time()) < 5
    assert (await client.get("/me")).status_code == 200


async def test_the_absolute_lifetime_is_a_setting(settings, members):
    assert Settings.from_env({"SMORE_VAR_DIR": str(settings.var_dir)}).session_absolute_seconds == 30 * DAY
    env = {"SMORE_VAR_DIR": str(settings.var_dir), "SESSION_ABSOLUTE_SECONDS": "3600"}
    assert Settings.from_env(env).session_absolute_seconds == 3600
    app = create_app(settings.with_changes(session_absolute_seconds=3600))
    other_members = type(members)(app)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        c.follow_redirects = False
        await login(c, (await other_members.create()).email)
        await backdate(app, c, started=3000)
        assert (await c.get("/me")).status_code == 200
        await backdate(app, c, started=3601)
        assert (await c.get("/me")).status_code == 303
