"""Forgot password: the same answer whether or not the email is a member's, a link by mail that
works once for 30 minutes, only its hash stored, and every session of the member ended by it."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.resets import mail_link_to
from app.models.base import utcnow
from app.models.members import PasswordReset
from app.web.forms import NUL_IN_FORM
from tests.helpers.factories import PASSWORD
from tests.helpers.mail import outbox, reset_path
from tests.helpers.waiting import wait_for
from tests.helpers.web import field_error, login, post_form, second_browser

NEW = "a-brand-new-password"


async def ask(browser, email: str):
    return await post_form(browser, "/password/forgot", {"email": email})


async def links(app) -> list[PasswordReset]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(PasswordReset).order_by(PasswordReset.id))).scalars())


async def mails_to(app, email: str, count: int = 1) -> list:
    """The mail to ``email`` once ``count`` of them are in the outbox (the queue writes them)."""

    async def arrived():
        mails = await outbox(app, email)
        return mails if len(mails) >= count else None

    return await wait_for(arrived, 15, f"{count} mail(s) to {email}")


async def mailed_path(client, app, email: str) -> str:
    before = len(await outbox(app, email))
    assert (await ask(client, email)).status_code == 303
    return reset_path((await mails_to(app, email, before + 1))[-1].body)


async def mails_to_all(app, count: int) -> list:
    async def arrived():
        mails = await outbox(app)
        return mails if len(mails) >= count else None

    return await wait_for(arrived, 30, f"{count} mails")


async def asked_in_vain(app, email: str) -> bool:
    """The queue's job for ``email``, run once more here: it mails nothing."""
    async with app.state.database.transaction() as db:
        return not await mail_link_to(db, email)


async def test_the_answer_is_the_same_whether_or_not_the_email_exists(client, members, app):
    await members.create("known@example.test")
    known, unknown = await ask(client, "Known@Example.test"), await ask(client, "nobody@example.test")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/password/forgot/sent"
    assert known.text == unknown.text
    page = await client.get("/password/forgot/sent")
    assert page.status_code == 200 and "If an account uses that address" in page.text
    (mail,) = await mails_to(app, "known@example.test")
    assert await asked_in_vain(app, "nobody@example.test")
    assert len(await outbox(app)) == 1
    assert mail.to_address == "known@example.test" and mail.subject == "Reset your Smore password"
    assert "within 30 minutes" in mail.body and mail.sensitive
    # only the token's hash is kept
    (link,) = await links(app)
    token = reset_path(mail.body).rsplit("/", 1)[1]
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert timedelta(minutes=29) < link.expires_at - utcnow() <= timedelta(minutes=30)


async def test_a_malformed_email_is_refused_inline_and_changes_nothing(client, app):
    for bad in ["", "not-an-email", "x" * 300 + "@example.test"]:
        r = await ask(client, bad)
        assert r.status_code == 422, bad
        assert field_error(r.text, "email"), bad
    r = await ask(client, "a\x00b@example.test")  # a NUL in any field: the whole form is refused
    assert r.status_code == 400 and str(NUL_IN_FORM) in r.text
    assert await outbox(app) == [] and await links(app) == []


async def test_a_link_sets_the_password_once_and_ends_every_session(client, members, app):
    member = await members.create("forgetful@example.test")
    async with second_browser(client) as phone:
        await login(phone, member.email)
        path = await mailed_path(client, app, member.email)
        form = await client.get(path)
        assert form.status_code == 200 and "Choose a new password" in form.text
        r = await post_form(client, path, {"password": NEW, "password_confirm": NEW})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert "signed out everywhere" in (await client.get("/login")).text
        r = await phone.get("/me")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # used: the link works no more, for a form or a post
    again = await client.get(path)
    assert again.status_code == 410 and "expired or was already used" in again.text
    r = await post_form(client, path, {"password": "another-password-x", "password_confirm": "another-password-x"})
    assert r.status_code == 410
    r = await post_form(client, "/login", {"email": member.email, "password": PASSWORD})
    assert r.status_code == 400
    await login(client, member.email, NEW)


async def test_a_weak_password_is_refused_inline_and_keeps_the_link(client, members, app):
    member = await members.create()
    path = await mailed_path(client, app, member.email)
    r = await post_form(client, path, {"password": "short", "password_confirm": "short"})
    assert r.status_code == 422 and "at least 10" in field_error(r.text, "password")
    r = await post_form(client, path, {"password": NEW, "password_confirm": NEW + "x"})
    assert r.status_code == 422 and "differ" in field_error(r.text, "password_confirm")
    mine = member.email + "-2026"  # the same rules as at sign-up: not the email, not a common password
    r = await post_form(client, path, {"password": mine, "password_confirm": mine})
    assert r.status_code == 422 and field_error(r.text, "password")
    assert all(link.used_at is None for link in await links(app))
    assert (await post_form(client, path, {"password": NEW, "password_confirm": NEW})).status_code == 303


async def test_an_expired_or_unknown_link_is_refused(client, members, app):
    member = await members.create()
    path = await mailed_path(client, app, member.email)
    async with app.state.database.transaction() as db:
        await db.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    for url in [path, "/password/reset/nonsense", "/password/reset/" + "x" * 5000, "/password/reset/%E2%80%AE"]:
        r = await client.get(url)
        assert r.status_code == 410, url
        r = await post_form(client, url, {"password": NEW, "password_confirm": NEW})
        assert r.status_code == 410, url
    assert (await client.get("/password/reset/%00")).status_code == 400  # a NUL in an address: before any page
    assert (await post_form(client, "/password/reset/%00", {"password": NEW})).status_code == 400
    r = await post_form(client, "/login", {"email": member.email, "password": PASSWORD})
    assert r.status_code == 303  # the password did not change


async def test_two_tabs_sending_the_same_link_set_the_password_once(client, members, app):
    member = await members.create()
    path = await mailed_path(client, app, member.email)
    async with second_browser(client) as other:
        await other.get("/password/forgot")
        first, second = await asyncio.gather(
            post_form(client, path, {"password": NEW, "password_confirm": NEW}),
            post_form(other, path, {"password": "the-other-password", "password_confirm": "the-other-password"}),
        )
    assert sorted([first.status_code, second.status_code]) == [303, 410]
    winner = NEW if first.status_code == 303 else "the-other-password"
    await login(client, member.email, winner)


async def test_a_new_password_closes_the_other_links_and_asking_is_capped(client, members, app):
    member = await members.create()
    for _ in range(5):
        assert (await ask(client, member.email)).status_code == 303
    await mails_to(app, member.email, 3)
    assert await asked_in_vain(app, member.email)  # at most three links per 30 minutes
    mails = await outbox(app, member.email)
    assert len(mails) == 3
    first, last = reset_path(mails[0].body), reset_path(mails[-1].body)
    assert (await post_form(client, last, {"password": NEW, "password_confirm": NEW})).status_code == 303
    assert (await client.get(first)).status_code == 410
    assert all(link.used_at is not None for link in await links(app))


async def test_withdrawn_or_suspended_members_get_no_link(client, members, app):
    suspended = await members.create()
    await members.suspend(suspended, "check")
    assert (await ask(client, suspended.email)).status_code == 303
    assert await asked_in_vain(app, suspended.email)
    assert await outbox(app, suspended.email) == []


async def test_asking_takes_about_as_long_for_an_unknown_email(client, members, app):
    emails = [(await members.create()).email for _ in range(20)]  # each asked once: each gets a mail
    await client.get("/password/forgot")
    known: list[float] = []
    unknown: list[float] = []
    for n, email in enumerate(emails):  # interleaved, so a slower moment of the machine weighs on both alike
        for address, times in ((email, known), (f"nobody{n}@example.test", unknown)):
            start = time.perf_counter()
            assert (await ask(client, address)).status_code == 303
            times.append(time.perf_counter() - start)
    assert len(await mails_to_all(app, len(emails))) == len(emails)
    a, b = statistics.median(known), statistics.median(unknown)
    print(f"forgot password: median {a * 1000:.1f} ms for a member's email, {b * 1000:.1f} ms for another")
    assert abs(a - b) < max(0.02, 0.5 * b)
