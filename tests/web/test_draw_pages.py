"""A draw through the app: the product page offers "Enter the draw" in place of Buy (or says which
entry is the member's, or why they may not enter); entering is a form post, once per member, and a
refusal answers 403 or 409 on the draw's page with its reason and writes nothing. The draw's page
is public: during the window its times in the viewer's zone, the number of entries and the
commitment; once the draw is made the seed, its check, the units, the winners, the later offers,
every entry id (and a plain-text file of them) and how to verify it all. It never names who entered."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from app.core.i18n import format_datetime, using
from app.drops.draw_rules import draw
from app.models.base import utcnow
from app.models.draws import DrawEntry
from tests.helpers.config import with_settings
from tests.helpers.draws import SEED, aged, draw_on_sale, draw_soon, enter, entries, make
from tests.helpers.drops import expire_now, on_sale
from tests.helpers.proof import enter_draw, solved
from tests.helpers.tables import count, followed
from tests.helpers.web import login, post_form, second_browser


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def shown(moment) -> str:
    with using("en", "Asia/Seoul"):  # a visitor's zone by default, with its name
        return format_datetime(moment)


def part(page: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (up to its section's end)."""
    start = page.index(f'id="{element_id}"')
    return text(page[start : page.index("</section>", start)])


@pytest.fixture
async def shopper(client, members):
    member = await members.create()
    await login(client, member.email)
    return member


async def test_the_product_page_offers_the_draw_in_place_of_buy(client, app, members, products, shopper):
    product = await draw_on_sale(app, members, products)
    page = (await client.get(f"/products/{product.id}")).text
    assert 'id="draw-enter-form"' in page and f'action="/products/{product.id}/draw"' in page
    assert "Buy now" not in page and f'action="/products/{product.id}/buy"' not in page
    assert f'href="/products/{product.id}/draw"' in page

    r = await enter_draw(client, product.id)
    assert r.status_code == 303 and r.headers["location"] == f"/products/{product.id}/draw"
    [entry] = await entries(app, product.id)
    assert f"You entered the draw: entry #{entry.id}." in text(await followed(client, r))
    again = (await client.get(f"/products/{product.id}")).text
    assert f"You entered: entry #{entry.id}" in text(again) and 'id="draw-enter-form"' not in again
    assert shown(product.draw_ends_at) in part(again, "draw-box")

    second = await post_form(client, f"/products/{product.id}/draw")  # entered already: no proof asked
    assert f"You had entered this draw already: entry #{entry.id}. That entry stands." in text(
        await followed(client, second)
    )
    assert await count(app, DrawEntry) == 1


async def test_a_visitor_is_asked_to_sign_in_and_a_post_goes_to_the_login(client, app, members, products):
    product = await draw_on_sale(app, members, products)
    page = (await client.get(f"/products/{product.id}")).text
    assert f'href="/login?next=/products/{product.id}"' in page and "Sign in to enter the draw" in page
    r = await post_form(client, f"/products/{product.id}/draw")
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    assert await count(app, DrawEntry) == 0


async def refused(client, app, product_id: int, status_code: int, message: str) -> str:
    r = await post_form(client, f"/products/{product_id}/draw")
    assert r.status_code == status_code, r.text
    assert r.headers["content-type"].startswith("text/html")
    alert = re.search(r'<div class="flash flash-error" role="alert" id="draw-refusal">(.*?)</div>', r.text, re.S)
    assert alert and message in text(alert.group(1))
    assert await count(app, DrawEntry) == 0
    return r.text


async def test_an_unconfirmed_account_is_refused_with_the_way_to_its_account_page(client, app, members, products):
    product = await draw_on_sale(app, members, products)
    member = await members.create(confirmed=False)
    await login(client, member.email)
    page = (await client.get(f"/products/{product.id}")).text
    assert "confirmed email address" in part(page, "draw-box") and 'href="/me"' in page
    assert 'id="draw-enter-form"' not in page
    answer = await refused(client, app, product.id, 403, f"mailed to {member.email}")
    assert '<a href="/me">Your account</a>' in answer


async def test_a_young_account_is_told_when_it_may_enter(client, app, members, products):
    product = await draw_on_sale(app, members, products, min_days=30)
    member = await aged(app, await members.create(), 10)
    await login(client, member.email)
    await refused(client, app, product.id, 403, "Only accounts at least 30 days old may enter this draw")
    page = (await client.get(f"/products/{product.id}")).text
    assert shown(member.created_at + timedelta(days=30)) in part(page, "draw-box")


async def test_the_seller_may_not_enter_their_own_draw(client, app, members, products):
    product = await draw_on_sale(app, members, products)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    page = (await client.get(f"/products/{product.id}")).text
    assert 'id="own-product"' in page and 'id="draw-enter-form"' not in page
    await refused(client, app, product.id, 403, "sellers cannot enter the draw for their own products")


async def test_before_the_window_and_after_it_entries_are_refused(client, app, members, products, shopper):
    soon = await draw_soon(members, products)
    await refused(client, app, soon.id, 409, f"Entries are not open yet: they open {shown(soon.sale_starts_at)}.")
    closed = await draw_on_sale(app, members, products, draw_ends_at=utcnow() - timedelta(seconds=1))
    page = await refused(client, app, closed.id, 409, "Entries for this draw are closed.")
    assert "the draw is being made" in part(page, "draw-facts")
    drawn = await draw_on_sale(app, members, products)
    await make(app, drawn.id)
    await refused(client, app, drawn.id, 409, "Entries for this draw are closed.")


async def test_a_product_sold_otherwise_has_no_draw(client, app, members, products, shopper):
    product = await on_sale(app, members, products)
    for url in (f"/products/{product.id}/draw", f"/products/{product.id}/draw/entries.txt", "/products/999999/draw"):
        r = await client.get(url)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), url
    assert (await post_form(client, f"/products/{product.id}/draw")).status_code == 404
    assert await count(app, DrawEntry) == 0


async def test_during_the_window_the_page_shows_times_entries_and_commitment_never_the_seed(
    client, app, members, products
):
    product = await draw_on_sale(app, members, products)
    for _ in range(3):
        await enter(app, await members.create(), product.id)
    r = await client.get(f"/products/{product.id}/draw")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    facts = part(r.text, "draw-facts")
    assert shown(product.sale_starts_at) in facts and shown(product.draw_ends_at).endswith(" KST")
    assert shown(product.draw_ends_at) in facts
    assert re.search(r'<dd id="draw-entries">3</dd>', r.text)
    assert product.draw_commitment in r.text and SEED not in r.text
    assert 'id="draw-winners"' not in r.text and 'id="draw-verify"' not in r.text
    assert (await client.get(f"/products/{product.id}/draw/entries.txt")).status_code == 404


async def test_after_the_draw_everything_is_published_and_nobody_is_named(client, app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    people = [await members.create(display_name=f"Entrant {n}") for n in range(5)]
    ids = [(await enter(app, member, product.id)).entry.id for member in people]
    expected = draw(SEED, ids, 2)
    await make(app, product.id)
    drawn = {entry.id: entry for entry in await entries(app, product.id)}
    await expire_now(app, drawn[expected.order[0]].right_id)  # its unit goes to the third entry

    r = await client.get(f"/products/{product.id}/draw")
    assert r.status_code == 200
    page = r.text
    assert f'<code class="hash" id="draw-seed">{SEED}</code>' in page
    assert "sha256(seed) equals the commitment." in part(page, "draw-facts")
    assert re.search(r'<dd id="draw-units">2</dd>', page)
    assert re.findall(r'<tr id="winners-(\d+)">', page) == [str(e) for e in expected.winners]
    assert re.findall(r'<tr id="later-(\d+)">', page) == [str(expected.order[2])]
    assert "Expired" in part(page, "draw-winners") and "Waiting for payment" in part(page, "draw-later")
    assert re.findall(r"<li>(\d+)</li>", page) == [str(i) for i in ids]
    command = part(page, "draw-verify")
    assert f"python -m app.drops.verify_draw --seed {SEED} --commitment {product.draw_commitment} --units 2" in command
    for member in people:
        assert member.display_name not in page and member.email not in page

    listed = await client.get(f"/products/{product.id}/draw/entries.txt")
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/plain")
    assert listed.text == "".join(f"{i}\n" for i in ids)


async def test_a_signed_in_entrant_sees_which_entry_is_theirs_and_its_result(client, app, members, products):
    product = await draw_on_sale(app, members, products, units=1)
    people = [await members.create() for _ in range(3)]
    ids = [(await enter(app, member, product.id)).entry.id for member in people]
    order = draw(SEED, ids, 1).order
    await make(app, product.id)
    owner = {entry.id: entry.member_id for entry in await entries(app, product.id)}
    winner, second = (await members.get(owner[order[0]])), (await members.get(owner[order[1]]))

    await login(client, winner.email)
    mine = (await client.get(f"/products/{product.id}/draw")).text
    assert f"#{order[0]} (yours)" in part(mine, "draw-winners")
    assert "You won! Pay within" in part(mine, "draw-yours") and 'id="draw-pay"' in mine
    product_page = (await client.get(f"/products/{product.id}")).text
    assert "You won! Pay within" in part(product_page, "draw-box")
    pay = re.search(r'<a class="button" id="draw-pay" href="([^"]+)"', product_page)
    assert pay, "no way to pay"
    to_order = await client.get(pay.group(1))  # the right's order, made on the spot if need be
    assert to_order.status_code == 303 and to_order.headers["location"].startswith("/orders/")
    assert (await client.get(to_order.headers["location"])).status_code == 200

    client.cookies.clear()
    await login(client, second.email)
    theirs = part((await client.get(f"/products/{product.id}/draw")).text, "draw-yours")
    assert f"You entered: entry #{order[1]}" in theirs and "number 2 in the draw order" in theirs


async def test_the_draws_page_speaks_korean(client, app, members, products):
    product = await draw_on_sale(app, members, products)
    r = await client.get(f"/products/{product.id}/draw", headers={"Accept-Language": "ko"})
    assert r.status_code == 200 and "응모" in r.text and "KST" in r.text
    assert "Entries close" not in r.text


async def test_a_new_entry_needs_a_proof_each_solution_enters_once(client, app, members, products, shopper):
    product = await draw_on_sale(app, members, products)
    r = await post_form(client, f"/products/{product.id}/draw")
    assert r.status_code == 400 and 'name="waited"' in r.text  # no JavaScript: the waiting ticket
    assert "check that you are a person" in text(r.text)
    assert await count(app, DrawEntry) == 0
    solution = await solved(client)
    reused = await members.create()
    assert (await post_form(client, f"/products/{product.id}/draw", {"altcha": solution})).status_code == 303
    async with second_browser(client) as other:
        await login(other, reused.email)
        again = await post_form(other, f"/products/{product.id}/draw", {"altcha": solution})
        assert again.status_code == 400
    assert await count(app, DrawEntry) == 1


@with_settings("draw-entry-limit", draw_entries_per_address_per_minute=2)
async def test_entries_are_limited_per_address(client, app, members, products):
    product = await draw_on_sale(app, members, products)
    async with second_browser(client, "203.0.113.9") as bot:
        await login(bot, (await members.create()).email)
        for _ in range(2):  # refused entries count too
            assert (await post_form(bot, f"/products/{product.id}/draw")).status_code == 400
        r = await enter_draw(bot, product.id)
        assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
    assert await count(app, DrawEntry) == 0
