"""Login limits an attacker cannot turn against a member, through the app: refused passwords lock
out one (email, address) pair and one address, never the email; an email under attack from many
addresses is slowed down, and its member still signs in from a fresh address. Forwarded addresses
are believed only from TRUSTED_PROXIES. Sign-ups and email checks are limited per address."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from app.models.members import Member
from tests.helpers.config import with_settings
from tests.helpers.factories import PASSWORD
from tests.helpers.web import post_form, second_browser

WRONG = "wrong-password-123"
ATTACKER, MEMBER = "203.0.113.9", "198.51.100.20"
QUICK = {"login_delay_seconds": 0.01, "login_max_delay_seconds": 0.02}  # the delay's length is not tested here


async def sign_in(browser, email: str, password: str = WRONG, **kwargs):
    return await post_form(browser, "/login", {"email": email, "password": password}, **kwargs)


async def signed_in(browser) -> bool:
    return (await browser.get("/me")).status_code == 200


@with_settings("quick-delay", **QUICK)
async def test_refused_passwords_stop_one_address_for_one_account_only(client, members, settings):
    await members.create("victim@example.test")
    async with second_browser(client, ATTACKER) as attacker:
        for _ in range(settings.login_failures_per_pair):
            assert (await sign_in(attacker, "victim@example.test")).status_code == 400
        # from the attacker's address this account is refused, even with the right password
        r = await sign_in(attacker, "victim@example.test", PASSWORD)
        assert r.status_code == 429 and "Too many failed sign-in attempts" in r.text
        assert not await signed_in(attacker)
        # other accounts from that address are still only told the password is wrong
        assert (await sign_in(attacker, "someone@example.test")).status_code == 400
    async with second_browser(client, MEMBER) as member:
        assert (await sign_in(member, "victim@example.test", PASSWORD)).status_code == 303
        assert await signed_in(member)


@with_settings("quick-delay", **QUICK)
async def test_the_address_limit_counts_refusals_across_accounts(client, members, settings):
    await members.create("real@example.test")
    async with second_browser(client, ATTACKER) as attacker:
        for i in range(settings.login_failures_per_address):
            assert (await sign_in(attacker, f"guess{i}@example.test")).status_code == 400
        assert (await sign_in(attacker, "real@example.test", PASSWORD)).status_code == 429
    async with second_browser(client, MEMBER) as member:
        assert (await sign_in(member, "real@example.test", PASSWORD)).status_code == 303


@with_settings("slow-email", login_slow_after=2, login_delay_seconds=0.3, login_max_delay_seconds=0.6)
async def test_an_email_attacked_from_many_addresses_is_slowed_down_never_locked(client, members, settings):
    await members.create("victim@example.test")
    for i in range(8):  # a guess from each of many addresses: no pair, no address reaches its limit
        async with second_browser(client, f"203.0.113.{i + 1}") as attacker:
            r = await sign_in(attacker, "victim@example.test")
            assert r.status_code == 400
            # the first refusals answer at once; from the limit on, the page says why it waited
            assert ("waits a few seconds" in r.text) is (i >= settings.login_slow_after)
    async with second_browser(client, MEMBER) as member:
        started = time.monotonic()
        r = await sign_in(member, "victim@example.test", PASSWORD)
        waited = time.monotonic() - started
        assert r.status_code == 303 and await signed_in(member)
    assert waited >= settings.login_max_delay_seconds  # 8 refusals: the longest delay
    # the member's sign-in forgot the email's refusals: the next one waits nothing
    async with second_browser(client, ATTACKER) as attacker:
        assert "waits a few seconds" not in (await sign_in(attacker, "victim@example.test")).text


@with_settings("quick-delay", **QUICK)
async def test_forwarded_for_from_an_untrusted_peer_is_ignored(client, members, settings):
    await members.create("victim@example.test")
    async with second_browser(client, "127.0.0.1") as local:  # a local peer is no proxy unless named
        for i in range(settings.login_failures_per_pair):
            forged = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
            assert (await sign_in(local, "victim@example.test", headers=forged)).status_code == 400
        forged = {"X-Forwarded-For": "198.51.100.99"}
        assert (await sign_in(local, "victim@example.test", PASSWORD, headers=forged)).status_code == 429
    async with second_browser(client, MEMBER) as member:
        assert (await sign_in(member, "victim@example.test", PASSWORD)).status_code == 303


@with_settings("trusted-proxy", trusted_proxies=("10.0.0.0/8",), **QUICK)
async def test_a_trusted_proxy_names_the_client_and_nobody_else_can(client, members, settings):
    await members.create("victim@example.test")
    async with second_browser(client, "10.1.2.3") as proxy:
        for i in range(settings.login_failures_per_pair):
            # a client may prepend what it likes: the proxy's own entry, the last one, is the client
            chain = {"X-Forwarded-For": f"192.0.2.{i + 1}, {ATTACKER}"}
            assert (await sign_in(proxy, "victim@example.test", headers=chain)).status_code == 400
        chain = {"X-Forwarded-For": ATTACKER}
        assert (await sign_in(proxy, "victim@example.test", PASSWORD, headers=chain)).status_code == 429
        # the member behind the same proxy is another client
        chain = {"X-Forwarded-For": MEMBER}
        assert (await sign_in(proxy, "victim@example.test", PASSWORD, headers=chain)).status_code == 303
    # a peer that is not a trusted proxy cannot pass for the member's address: it is itself
    spoof = {"X-Forwarded-For": MEMBER}
    async with second_browser(client, "203.0.113.77") as attacker:
        for _ in range(settings.login_failures_per_pair):
            assert (await sign_in(attacker, "victim@example.test", headers=spoof)).status_code == 400
        assert (await sign_in(attacker, "victim@example.test", headers=spoof)).status_code == 429
    async with second_browser(client, "10.1.2.3") as proxy:
        assert (await sign_in(proxy, "victim@example.test", PASSWORD, headers=spoof)).status_code == 303


async def member_count(app) -> int:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(func.count(Member.id)))).scalar_one()


async def sign_up(browser, email: str, password: str = PASSWORD):
    data = {"email": email, "display_name": "Newbie", "password": password, "password_confirm": password}
    return await post_form(browser, "/signup", data)


@with_settings("signup-limit", signups_per_address_per_hour=3)
async def test_sign_ups_are_limited_per_address(client, app):
    for n, expected in enumerate([303, 422, 303]):  # a refused form counts too
        async with second_browser(client, ATTACKER) as browser:
            password = PASSWORD if expected == 303 else "short"
            assert (await sign_up(browser, f"new{n}@example.test", password)).status_code == expected
    async with second_browser(client, ATTACKER) as browser:
        r = await sign_up(browser, "one-more@example.test")
        assert r.status_code == 429 and "Too many requests from your network" in r.text
        assert "RateLimit-Reset" in r.headers
        assert (await browser.get("/signup")).status_code == 200  # the form itself is not limited
    assert await member_count(app) == 2
    async with second_browser(client, MEMBER) as browser:
        assert (await sign_up(browser, "elsewhere@example.test")).status_code == 303
    assert await member_count(app) == 3


@with_settings("email-check-limit", email_checks_per_address_per_minute=3)
async def test_email_checks_are_limited_per_address(client, members):
    await members.create("taken@example.test")
    htmx = {"HX-Request": "true"}
    async with second_browser(client, ATTACKER) as prober:
        for i in range(3):
            r = await post_form(prober, "/signup/check-email", {"email": f"probe{i}@example.test"}, headers=htmx)
            assert r.status_code == 200
        r = await post_form(prober, "/signup/check-email", {"email": "taken@example.test"}, headers=htmx)
        assert r.status_code == 429 and "already exists" not in r.text
    async with second_browser(client, MEMBER) as browser:
        r = await post_form(browser, "/signup/check-email", {"email": "taken@example.test"}, headers=htmx)
        assert r.status_code == 200 and "already exists" in r.text


@pytest.mark.slow
@with_settings("one-turn", max_concurrent_requests=1, login_slow_after=1, login_delay_seconds=1.5)
async def test_a_slowed_sign_in_waits_without_holding_a_turn_at_the_door(client, members):
    """The door lets one sign-in work at a time here: another member's sign-in, arriving while a
    slowed one waits out its delay, is served during the wait, so slowed sign-ins cannot fill the
    door."""
    await members.create("victim@example.test")
    await members.create("other@example.test")
    async with second_browser(client, ATTACKER) as waiting, second_browser(client, MEMBER) as other:
        assert (await sign_in(waiting, "victim@example.test")).status_code == 400  # now slowed by 1.5 s
        await other.get("/login")  # its CSRF cookie, before the clock starts
        slowed = asyncio.create_task(sign_in(waiting, "victim@example.test", PASSWORD))
        await asyncio.sleep(0.4)
        assert (await sign_in(other, "other@example.test", PASSWORD)).status_code == 303
        assert not slowed.done()  # served while the slowed sign-in still waited
        assert (await slowed).status_code == 303
