"""``/seller/orders``: the orders of the seller's own products, newest first, the shopper by display
name (never the email), states in words, filtered by state, product and days read in the viewer's
zone; refused filters are named next to their fields (400, nothing listed); a page at a time; an
empty state; linked from the seller's products page."""

from __future__ import annotations

import re

from app.models.members import Member
from tests.helpers.exports import more_orders, seller_orders
from tests.helpers.web import login


def listed(html: str) -> list[int]:
    """The order ids of the table's rows, top first."""
    return [int(n) for n in re.findall(r'<tr id="order-(\d+)"', html)]


async def set_zone(app, member_id: int, zone: str, language: str | None = None) -> None:
    async with app.state.database.transaction() as db:
        member = await db.get(Member, member_id)
        member.time_zone = zone
        member.language = language


async def test_the_seller_sees_their_own_orders_newest_first(client, app, members, products):
    world = await seller_orders(app, members, products)
    o = world.orders
    await login(client, world.seller.email)
    r = await client.get("/seller/orders")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    # page size 5 in the tests: the newest five of the seller's five; the other seller's never
    assert listed(r.text) == [o["cancelled"], o["print_paid"], o["refunded"], o["awaiting"], o["paid_late"]]
    assert o["other"] not in listed(r.text) and "Someone else" not in r.text
    assert "Ana Kim" in r.text and "ana.shopper@example.test" not in r.text
    for words in ("Awaiting payment", "Refunded", "Cancelled", "Limited figure", "Signed print", "₩24,000"):
        assert words in r.text, words
    assert "awaiting_payment</span>" not in r.text
    assert 'href="/seller/orders/export.csv"' in r.text
    products_page = await client.get("/seller/products")
    assert 'href="/seller/orders"' in products_page.text


async def test_filters_by_state_product_and_days_in_the_viewers_zone(client, app, members, products):
    world = await seller_orders(app, members, products)
    o = world.orders
    await login(client, world.seller.email)
    by_state = await client.get("/seller/orders?status=paid")
    assert listed(by_state.text) == [o["print_paid"], o["paid_late"]]
    assert 'href="/seller/orders/export.csv?status=paid"' in by_state.text
    by_product = await client.get(f"/seller/orders?product={world.print_id}")
    assert listed(by_product.text) == [o["print_paid"]]
    # Seoul (the default zone): the 11th starts at 15:00 UTC on the 10th
    seoul = await client.get("/seller/orders?since=2026-03-11&until=2026-03-12")
    assert listed(seoul.text) == [o["print_paid"], o["refunded"], o["awaiting"]]
    await set_zone(app, world.seller.id, "UTC")
    utc = await client.get("/seller/orders?since=2026-03-11&until=2026-03-12")
    assert listed(utc.text) == [o["print_paid"], o["refunded"]]
    both = await client.get(f"/seller/orders?status=paid&product={world.figure_id}&until=2026-03-10")
    assert listed(both.text) == [o["paid_late"]]
    none = await client.get("/seller/orders?status=completed")
    assert none.status_code == 200 and listed(none.text) == []
    assert 'id="no-orders"' in none.text and "No orders match these filters." in none.text


async def test_refused_filters_are_named_and_list_nothing(client, app, members, products):
    world = await seller_orders(app, members, products)
    await login(client, world.seller.email)
    cases = {
        "status=shipped": ("status", "Choose a state"),
        f"product={world.other_product_id}": ("product", "Choose one of your products"),
        "product=abc": ("product", "Choose one of your products"),
        "product=99999999999": ("product", "Choose one of your products"),
        "since=2026-02-30": ("since", "YYYY-MM-DD"),
        "since=0001-01-01": ("since", "YYYY-MM-DD"),
        "until=9999-12-31": ("until", "YYYY-MM-DD"),
        "until=٢٠٢٦-03-01": ("until", "YYYY-MM-DD"),
        "since=2026-03-12&until=2026-03-11": ("until", "before the first day"),
    }
    for query, (name, words) in cases.items():
        r = await client.get(f"/seller/orders?{query}")
        assert r.status_code == 400, query
        error = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', r.text, re.S)
        assert error and words in error.group(1), (query, error)
        assert listed(r.text) == [] and 'id="export-csv"' not in r.text, query
        assert 'id="filters-refused"' in r.text and "Shorten the search" not in r.text, query
        export = await client.get(f"/seller/orders/export.csv?{query}")
        assert export.status_code == 400 and export.headers["content-type"].startswith("text/html"), query


async def test_a_page_at_a_time(client, app, members, products):
    world = await seller_orders(app, members, products)
    added = await more_orders(app, world, 3)  # eight in all: two pages of five
    await login(client, world.seller.email)
    first = await client.get("/seller/orders")
    assert listed(first.text) == [*reversed(added), world.orders["cancelled"], world.orders["print_paid"]]
    assert "Page 1 of 2 (8 in all)" in first.text and 'href="?page=2"' in first.text
    second = await client.get("/seller/orders?page=2")
    o = world.orders
    assert listed(second.text) == [o["refunded"], o["awaiting"], o["paid_late"]]
    filtered = await client.get("/seller/orders?status=paid")
    assert len(listed(filtered.text)) == 5 and 'rel="next"' not in filtered.text  # five paid: one page
    more = await client.get(f"/seller/orders?product={world.figure_id}&page=2")
    assert listed(more.text) == [o["awaiting"], o["paid_late"]]
    past_the_end = await client.get("/seller/orders?page=9")  # the last page
    assert past_the_end.status_code == 200 and listed(past_the_end.text) == listed(second.text)


async def test_empty_state_and_who_may_see_it(client, app, members, products):
    world = await seller_orders(app, members, products)
    await login(client, world.other_seller.email)
    theirs = await client.get("/seller/orders")
    assert listed(theirs.text) == [world.orders["other"]]
    newcomer = await members.seller()
    await login(client, newcomer.email)
    empty = await client.get("/seller/orders")
    assert empty.status_code == 200 and "No orders yet." in empty.text and "<table" not in empty.text
    await login(client, world.shopper.email)
    assert (await client.get("/seller/orders")).status_code == 403
    assert (await client.get("/seller/orders/export.csv")).status_code == 403
    client.cookies.clear()
    assert (await client.get("/seller/orders")).status_code in (302, 303, 401)
    assert (await client.get("/seller/orders/export.csv")).status_code in (302, 303, 401)
