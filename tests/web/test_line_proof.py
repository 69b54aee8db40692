"""Joining a waiting room's line costs a proof through the app: without one the join is refused
beside the form (400) and nothing is written; a challenge from ``/proof/challenge`` solved as the
widget solves it joins (303), once; a member without JavaScript waits for a ticket, which works
after its wait and once; and joins are limited per client address (429, in the member's language)."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import timedelta

import pytest

from app.core.i18n import gettext, ngettext, using
from app.models.base import utcnow
from app.models.catalog import ProductStatus, SaleMode
from app.models.lines import LinePlace
from app.web.proof import FAILED, TICKET_INVALID, Proofs
from app.web.single_use import MemorySingleUse
from tests.helpers.config import with_settings
from tests.helpers.proof import solve, solved
from tests.helpers.tables import count
from tests.helpers.web import login, post_form, second_browser

ATTACKER, NEIGHBOUR = "203.0.113.9", "198.51.100.20"
KO = {"Accept-Language": "ko"}


async def open_line(members, products):
    """A waiting room whose line is open: the sale starts in five minutes."""
    return await products.create(
        await members.seller(),
        status=ProductStatus.SCHEDULED,
        sale_mode=SaleMode.WAITING_ROOM,
        sale_starts_at=utcnow() + timedelta(minutes=5),
    )


def ticket_in(page: str) -> str:
    match = re.search(r'<input type="hidden" name="waited" value="([^"]+)">', page)
    assert match, "the form carries no ticket"
    return match.group(1)


def refusal_in_form(page: str) -> str:
    """The message shown inside the join form, just above its button."""
    form = re.search(r'<form [^>]*id="join-line-page-form".*?</form>', page, re.S)
    assert form, "the page has no join form"
    message = re.search(r'<p class="error" role="alert" id="line-refusal">(.*?)</p>', form.group(0), re.S)
    assert message, "no message beside the form"
    return message.group(1).replace("&#39;", "'")


def wait_message(seconds: int, language: str = "en") -> str:
    with using(language):
        return ngettext(
            "Your browser did not run the check that you are a person (it needs JavaScript), so instead "
            "please wait %(num)s second, then press the button again. Nothing was done yet.",
            "Your browser did not run the check that you are a person (it needs JavaScript), so instead "
            "please wait %(num)s seconds, then press the button again. Nothing was done yet.",
            seconds,
        )


async def test_a_join_without_a_proof_is_refused_beside_the_form_and_writes_nothing(client, app, members, products):
    product = await open_line(members, products)
    await login(client, (await members.create()).email)
    r = await post_form(client, f"/products/{product.id}/line")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert refusal_in_form(r.text) == wait_message(5)
    assert ticket_in(r.text) and "<altcha-widget" in r.text  # either proof will do next time
    assert 'http-equiv="refresh"' not in r.text  # the member presses again: no timed redirect
    assert await count(app, LinePlace) == 0
    korean = await post_form(client, f"/products/{product.id}/line", headers=KO)
    assert korean.status_code == 400 and refusal_in_form(korean.text) == wait_message(5, "ko")
    assert refusal_in_form(korean.text) != wait_message(5)


async def test_a_solved_challenge_joins_and_the_same_solution_is_refused_after(client, app, members, products):
    product = await open_line(members, products)
    await login(client, (await members.create()).email)
    payload = await solved(client)
    r = await post_form(client, f"/products/{product.id}/line", {"altcha": payload})
    assert r.status_code == 303 and r.headers["location"] == f"/products/{product.id}/line"
    assert await count(app, LinePlace) == 1
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        again = await post_form(other, f"/products/{product.id}/line", {"altcha": payload})
        assert again.status_code == 400 and refusal_in_form(again.text) == str(FAILED)
        assert (await other.get(f"/products/{product.id}/line")).text.count('id="line-not-in"') == 1
    assert await count(app, LinePlace) == 1


async def test_a_solution_of_someone_elses_challenge_or_garbage_is_refused(client, app, members, products, settings):
    product = await open_line(members, products)
    await login(client, (await members.create()).email)
    elsewhere = Proofs(settings.with_changes(secret_key="another-shop-" + "z" * 32), MemorySingleUse())
    for payload in (solve(elsewhere.challenge()), "%%%", "x" * 10_000, base64.b64encode(b"[]").decode()):
        r = await post_form(client, f"/products/{product.id}/line", {"altcha": payload})
        assert r.status_code == 400 and refusal_in_form(r.text) == str(FAILED), payload[:20]
    assert await count(app, LinePlace) == 0


@pytest.mark.slow
@with_settings("one-second-wait", proof_of_time_seconds=1)
async def test_without_javascript_a_member_waits_then_joins_with_the_ticket_once(client, app, members, products):
    product = await open_line(members, products)
    url = f"/products/{product.id}/line"
    await login(client, (await members.create()).email)
    ticket = ticket_in((await post_form(client, url)).text)
    early = await post_form(client, url, {"waited": ticket})
    assert early.status_code == 400 and "more second" in refusal_in_form(early.text)
    assert ticket_in(early.text) == ticket  # the same ticket, still waiting
    assert await count(app, LinePlace) == 0
    payload = base64.urlsafe_b64decode(ticket.split(".")[0] + "==").decode()
    ready = int(payload.split(":")[1])
    await asyncio.sleep(max(0.0, ready - utcnow().timestamp()) + 0.05)
    r = await post_form(client, url, {"waited": ticket})
    assert r.status_code == 303 and r.headers["location"] == url
    assert await count(app, LinePlace) == 1
    replay = await post_form(client, url, {"waited": ticket})  # the member's place is shown, and the refusal
    assert replay.status_code == 400 and f'id="line-refusal">{TICKET_INVALID}<' in replay.text
    async with second_browser(client) as other:  # another member cannot use it either
        await login(other, (await members.create()).email)
        borrowed = await post_form(other, url, {"waited": ticket})
        assert borrowed.status_code == 400 and refusal_in_form(borrowed.text) == str(TICKET_INVALID)
    assert await count(app, LinePlace) == 1


async def test_a_refusal_that_no_proof_can_change_comes_first(client, app, members, products):
    """A line not open yet says so, and asks no proof (nor spends one)."""
    product = await products.create(
        await members.seller(),
        status=ProductStatus.SCHEDULED,
        sale_mode=SaleMode.WAITING_ROOM,
        sale_starts_at=utcnow() + timedelta(hours=2),
    )
    await login(client, (await members.create()).email)
    payload = await solved(client)
    r = await post_form(client, f"/products/{product.id}/line", {"altcha": payload})
    assert r.status_code == 409 and "The line is not open yet." in r.text and 'name="waited"' not in r.text
    opened = await open_line(members, products)
    assert (await post_form(client, f"/products/{opened.id}/line", {"altcha": payload})).status_code == 303


@with_settings("line-join-limit", line_joins_per_address_per_minute=3)
async def test_joins_are_limited_per_address_in_the_members_language(client, app, members, products):
    product = await open_line(members, products)
    url = f"/products/{product.id}/line"
    async with second_browser(client, ATTACKER) as bot:
        await login(bot, (await members.create()).email)
        for _ in range(3):  # refused joins count too
            assert (await post_form(bot, url)).status_code == 400
        r = await post_form(bot, url, {"altcha": await solved(bot)})
        assert r.status_code == 429 and "Too many requests from your network" in r.text
        assert "RateLimit-Reset" in r.headers and r.headers["content-type"].startswith("text/html")
        korean = await post_form(bot, url, {"altcha": await solved(bot)}, headers=KO)
        with using("ko"):
            said = gettext("Too many requests from your network. Nothing was done: please wait a while and try again.")
        assert korean.status_code == 429 and said in korean.text and "Too many requests" not in korean.text
        assert (await bot.get(url)).status_code == 200  # the page itself is not limited
    assert await count(app, LinePlace) == 0
    async with second_browser(client, NEIGHBOUR) as member:
        await login(member, (await members.create()).email)
        assert (await post_form(member, url, {"altcha": await solved(member)})).status_code == 303
    assert await count(app, LinePlace) == 1


async def test_the_challenge_is_fresh_uncached_json_that_names_nobody(client, members):
    first = await client.get("/proof/challenge")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == "no-store"
    member = await members.create("someone@example.test", display_name="Some One")
    await login(client, member.email)
    second = await client.get("/proof/challenge")
    assert second.status_code == 200 and second.json()["signature"] != first.json()["signature"]
    assert set(second.json()["parameters"]) == set(first.json()["parameters"])
    for said in (member.email, member.display_name, f'"{member.id}"'):
        assert said not in second.text
    assert "set-cookie" not in {name.lower() for name in second.headers}
