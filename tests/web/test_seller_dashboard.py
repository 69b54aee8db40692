"""The seller's dashboard through the app, on real data: a live drop with presses granted, refused,
paid and expired; a paid order in the settlement ledger and a refund request waiting; a live
auction with bids; the empty states; and the live stream (current state first, then a Buy press
of another member moves the chart) with its guard."""

from __future__ import annotations

import asyncio
import re

import pytest

from app.drops.rules import Outcome
from app.drops.service import Press
from app.models.base import utcnow
from app.models.orders import Order
from app.models.payments import Payment, PaymentStatus
from app.orders.service import order_for_right
from app.payments.refund_requests import request_money
from app.payments.service import record_done, start_payment
from tests.helpers.auctions import bid, dispatch_all, live_auction
from tests.helpers.drops import expire_now, on_sale, service
from tests.helpers.keys import key
from tests.helpers.streams import sse_events
from tests.helpers.web import login, signed_in


def data(html: str, element_id: str, name: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*?data-{name}="([^"]*)"', html)
    assert found, f"no #{element_id}[data-{name}] in the page"
    return found.group(1)


async def pay(app, right_id: int) -> Payment:
    """Pay the right's order as the gateway's approval does, and run the events (settlement)."""
    async with app.state.database.transaction() as db:
        order = await order_for_right(db, right_id)
        payment = await start_payment(db, order)
        payment.status = PaymentStatus.IN_PROGRESS
        payment.payment_key = f"pk-{payment.id}"
        payment_id = payment.id
    async with app.state.database.transaction() as db:
        assert (await record_done(db, payment_id, method="card", approved_at=utcnow())).state == "paid"
    await dispatch_all(app)
    async with app.state.database.transaction() as db:
        return await db.get(Payment, payment_id)


async def a_busy_drop(app, members, products):
    """A drop of 5: three rights (one paid, one held, one expired), one refused
    press, and a refund request for money on the paid order."""
    product = await on_sale(app, members, products, fixed=5, limit=1)
    drops = service(app)
    shoppers = [await members.create() for _ in range(3)]
    rights = []
    for shopper in shoppers:
        result = await drops.press(Press(product.id, shopper.id, key()))
        assert result.outcome is Outcome.GRANTED
        rights.append(result.right_id)
    refused = await drops.press(Press(product.id, shoppers[0].id, key()))
    assert refused.outcome is Outcome.LIMIT
    payment = await pay(app, rights[0])
    await expire_now(app, rights[2])
    async with app.state.database.transaction() as db:
        order = await db.get(Order, payment.order_id)
        await request_money(db, order, amount=1_000, reason="a dented box", actor_id=shoppers[0].id)
    return product, payment


async def test_the_dashboard_counts_a_live_drop_from_the_database(client, app, members, products):
    product, payment = await a_busy_drop(app, members, products)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    r = await client.get("/seller")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for element, count in (("units-taken", 3), ("units-held", 1), ("units-paid", 1), ("units-returned", 1)):
        assert data(page, element, "count") == str(count), element
    fee = payment.amount * payment.fee_basis_points // 10_000
    assert data(page, "revenue-today", "amount") == str(payment.amount)
    assert data(page, "revenue-month", "amount") == str(payment.amount)
    assert data(page, "fees-today", "amount") == str(fee)
    assert data(page, "settlement-balance", "amount") == str(payment.amount - fee)
    assert data(page, "refunds-waiting", "count") == "1"
    assert data(page, f"drop-{product.id}-svg", "taken") == "3"  # granted, whatever became of them
    assert data(page, f"drop-{product.id}-svg", "paid") == "1"
    assert data(page, f"drop-{product.id}-left", "left") == "3"  # the expired unit came back
    assert 'role="img"' in page and f'<title id="drop-{product.id}-title">' in page
    rows = re.search(rf'<tbody id="drop-{product.id}-rows".*?</tbody>', page, re.S).group(0)
    assert re.search(r">3</td><td[^>]*>1</td>", rows), "the table ends at 3 taken, 1 paid"
    assert "4.0" in rows or "2.0" in rows or "1.0" in rows, "the presses per second are in the table"
    for link in ("new-product", "my-products", "my-settlements", "my-refund-requests", "my-orders"):
        assert f'id="{link}"' in page
    assert 'href="/seller/orders"' in page and 'href="/seller/refunds"' in page
    assert "No live auctions right now." in page


async def test_an_empty_dashboard_says_so_and_shows_nobody_elses_sales(client, app, members, products):
    await a_busy_drop(app, members, products)
    await signed_in(client, members)
    other = await members.seller()
    await login(client, other.email)
    page = (await client.get("/seller")).text
    assert "No live drops right now." in page and "No live auctions right now." in page
    assert "Nothing scheduled." in page
    assert data(page, "units-taken", "count") == "0" and data(page, "settlement-balance", "amount") == "0"
    assert data(page, "refunds-waiting", "count") == "0"


async def test_a_live_auction_shows_its_highest_and_lowest_winning_bid(client, app, members, products):
    auction = await live_auction(app, members, products, units=2, start=10_000, increment=1_000)
    bidders = [await members.create() for _ in range(3)]
    for bidder, amount in zip(bidders, (10_000, 12_000, 15_000), strict=True):
        assert (await bid(app, auction.id, bidder.id, amount)).accepted
    seller = await members.get(auction.seller_id)
    await login(client, seller.email)
    page = (await client.get("/seller")).text
    assert data(page, f"auction-{auction.id}-svg", "highest") == "15000"
    assert "Highest bid: ₩15,000" in page and "Lowest winning bid: ₩12,000" in page  # 2 units: the 2nd
    assert "No live drops right now." in page


async def test_the_dashboard_speaks_korean(client, app, members, products):
    product, _payment = await a_busy_drop(app, members, products)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    page = (await client.get("/seller", headers={"Accept-Language": "ko"})).text
    assert '<html lang="ko">' in page and "판매자" in page
    assert "KST" in page


async def test_only_a_seller_may_open_the_stream(client, app, members, products):
    r = await client.get("/seller/events")
    assert r.status_code in (302, 303, 401) and "text/event-stream" not in r.headers.get("content-type", "")
    await signed_in(client, members)  # a shopper
    r = await client.get("/seller/events")
    assert r.status_code == 403


@pytest.mark.timeout(30)
async def test_the_stream_sends_the_state_then_follows_a_press(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5, limit=2)
    seller = await members.get(product.seller_id)
    shopper = await members.create()
    await login(client, seller.email)
    page = (await client.get("/seller")).text
    layout = re.search(r'sse-connect="/seller/events\?layout=([^"]+)"', page).group(1)
    assert layout == f"d{product.id}-a"

    async def press() -> None:
        await asyncio.sleep(0.1)
        assert (await service(app).press(Press(product.id, shopper.id, key()))).outcome is Outcome.GRANTED
        from app.live.hub import touch

        touch(product.id)  # what the Buy press's controller does after its batch

    def moved(events: list[tuple[str, str]]) -> bool:
        return any(name == f"drop-{product.id}-chart" and 'data-taken="1"' in body for name, body in events)

    start, events = await sse_events(client, f"/seller/events?layout={layout}", moved, during=press, limit=10)
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    assert start["status"] == 200 and headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names[0] == "numbers", "the page's layout is current: the parts, not the whole body"
    first_chart = next(body for name, body in events if name == f"drop-{product.id}-chart")
    assert 'data-taken="0"' in first_chart, "the current state comes first"
    assert moved(events)


@pytest.mark.timeout(30)
async def test_a_stale_layout_gets_the_whole_body(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    _start, events = await sse_events(client, "/seller/events?layout=d999-a%3Cscript%3E", lambda events: bool(events))
    name, body = events[0]
    assert name == "dashboard" and f'id="drop-{product.id}"' in body
