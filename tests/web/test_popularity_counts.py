"""The popular-now counters fed by the running shop, through the app: a granted purchase and
accepted bids are counted once each from their events; views are counted in memory, written by
the flush in one statement, and the product page itself writes nothing."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.catalog.popularity import recompute_popularity
from app.events.dispatch import dispatch
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.catalog import Product, ProductDailyStats
from app.models.events import InboxEntry, OutboxEvent
from tasks.web import create_app
from tests.helpers.auctions import live_auction
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.sql import WRITE, statements
from tests.helpers.web import buy, login, place, second_browser, signed_in

PAGE_KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


@pytest.fixture
def settings(settings):
    """No periodic view flush during these tests unless a test asks for one: each flush is seen."""
    return settings.with_changes(view_flush_seconds=3600)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {what} within {limit} s")


async def today_counts(app, product_id: int) -> tuple[int, int, int] | None:
    async with app.state.database.transaction() as db:
        row = await db.scalar(
            select(ProductDailyStats).where(
                ProductDailyStats.product_id == product_id, ProductDailyStats.day == utcnow().date()
            )
        )
        return None if row is None else (row.views, row.purchases, row.bids)


async def stats_rows(app) -> int:
    async with app.state.database.transaction() as db:
        return await db.scalar(select(func.count()).select_from(ProductDailyStats))


async def event_ids(app, topic: str) -> list[str]:
    async with app.state.database.transaction() as db:
        stmt = select(OutboxEvent.id).where(OutboxEvent.topic == topic).order_by(OutboxEvent.created_at)
        return list((await db.execute(stmt)).scalars())


async def handled_by(app, topic: str, handler: str, expected: int) -> list[str]:
    """Wait until the running app's relay and worker have run ``handler`` on the ``expected``
    events of ``topic``; returns their ids."""

    async def done() -> bool:
        ids = await event_ids(app, topic)
        async with app.state.database.transaction() as db:
            stmt = select(func.count()).where(InboxEntry.handler == handler, InboxEntry.event_id.in_(ids or [""]))
            return len(ids) == expected and await db.scalar(stmt) == expected

    await eventually(done, f"{expected} {topic} event(s) handled by {handler}")
    return await event_ids(app, topic)


async def popularity(app, product_id: int) -> int:
    async with app.state.database.transaction() as db:
        await recompute_popularity(db)
    async with app.state.database.transaction() as db:
        return (await db.get(Product, product_id)).popularity


async def counted_once(app, product_id: int, ids: list[str], handler: str, counts: tuple, ranking: int) -> None:
    """Once the views are flushed, today's (views, purchases, bids) of the product are ``counts``
    and stay so when the events ``ids`` are delivered again; its popularity is then ``ranking``
    (views + the weighted purchases or bids)."""
    await app.state.background.flush_views()
    assert await today_counts(app, product_id) == counts
    for event_id in ids:  # a redelivery counts nothing
        assert handler not in await dispatch(app.state.database, event_id)
    assert await today_counts(app, product_id) == counts
    assert await popularity(app, product_id) == ranking


async def outbox_drained(app) -> None:
    async def drained() -> bool:
        async with app.state.database.transaction() as db:
            stmt = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
            return await db.scalar(stmt) == 0

    await eventually(drained, "the outbox relayed")


async def test_a_granted_purchase_counts_once_and_feeds_the_ranking(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    await signed_in(client, members)
    page = (await client.get(f"/products/{product.id}")).text  # a view
    k = PAGE_KEY.search(page).group(1)
    assert "Yours!" in (await buy(client, product.id, k)).text
    assert "Yours!" in (await buy(client, product.id, k)).text  # pressed twice: one right, one event
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        await other.get(f"/products/{product.id}")  # a view
        assert (await buy(other, product.id, key(), htmx=False)).status_code == 303
    async with second_browser(client) as own:
        await login(own, (await members.get(product.seller_id)).email)
        assert (await own.get(f"/products/{product.id}")).status_code == 200  # the seller's own look: not a view

    ids = await handled_by(app, Topic.RIGHT_GRANTED, "catalog.count_purchase", expected=2)
    await counted_once(
        app, product.id, ids, "catalog.count_purchase", (2, 2, 0), 2 * 1 + 2 * 5
    )  # views + 5 × purchases


async def test_accepted_bids_count_once_and_feed_the_ranking(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    await signed_in(client, members)
    assert (await client.get(f"/products/{auction.product_id}")).status_code == 200  # a view
    assert (await place(client, auction.id, "10000")).status_code == 200  # accepted
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        await other.get(f"/products/{auction.product_id}")  # a view
        same = key()
        assert "is in" in (await place(other, auction.id, "12000", key_=same)).text  # accepted
        assert "counted once" in (await place(other, auction.id, "12000", key_=same)).text  # a replay
    assert (await place(client, auction.id, "9000")).status_code == 422  # refused: below the minimum
    r = await place(client, auction.id, "", maximum="20000")  # accepted: a maximum, bid as far as needed
    assert "Your bid of ₩13,000 is in." in r.text and "up to ₩20,000" in r.text

    # each bid was its own batch here (one answered before the next was sent): one event each
    ids = await handled_by(app, Topic.BIDS_PLACED, "catalog.count_bids", expected=3)
    async with app.state.database.transaction() as db:
        payloads = [(await db.get(OutboxEvent, i)).payload for i in ids]
    assert payloads == [{"product_id": auction.product_id, "bids": 1}] * 3
    await counted_once(app, auction.product_id, ids, "catalog.count_bids", (2, 0, 3), 2 * 1 + 3 * 3)  # views + 3 × bids


async def test_the_product_page_writes_nothing_and_one_statement_writes_the_views(client, app, members, products):
    seller = await members.seller()
    a = await products.create(seller)
    b = await products.create(seller)
    await signed_in(client, members)
    async with second_browser(client) as own:
        await login(own, seller.email)
        await outbox_drained(app)  # the relay has nothing left to mark meanwhile
        with statements(app) as seen:
            for url in (f"/products/{a.id}", f"/products/{a.id}", f"/products/{b.id}", f"/products/{a.id}?image=1"):
                assert (await client.get(url)).status_code == 200, url
            assert (await own.get(f"/products/{a.id}")).status_code == 200  # the seller: not a view
    assert any(s.lstrip().upper().startswith("SELECT") for s in seen)  # the listener heard the pages
    assert [s for s in seen if WRITE.search(s)] == []
    assert await stats_rows(app) == 0 and app.state.views.pending() == 3

    with statements(app) as seen:
        assert await app.state.background.flush_views() == 3
    writes = [s for s in seen if WRITE.search(s)]
    assert len(writes) == 1 and "product_daily_stats" in writes[0]
    assert await today_counts(app, a.id) == (2, 0, 0) and await today_counts(app, b.id) == (1, 0, 0)
    assert app.state.views.pending() == 0
    assert await app.state.background.flush_views() == 0  # nothing counted since: no statement

    await client.get(f"/products/{a.id}")
    await app.state.background.flush_views()  # adds to the day's row
    assert await today_counts(app, a.id) == (3, 0, 0) and await stats_rows(app) == 2


async def test_views_are_written_by_the_periodic_flush(app, members, products, settings):
    seller = await members.seller()
    p = await products.create(seller)
    served = create_app(settings.with_changes(view_flush_seconds=0.2))
    async with AsyncTestClient(app=served, base_url="http://testserver.local") as browser:
        for _ in range(3):
            assert (await browser.get(f"/products/{p.id}")).status_code == 200

        async def written() -> bool:
            return await today_counts(served, p.id) == (3, 0, 0)

        await eventually(written, "three views written by the periodic flush", limit=10)
        assert served.state.views.pending() == 0


async def test_views_counted_before_shutdown_are_written_at_shutdown(app, members, products):
    seller = await members.seller()
    p = await products.create(seller)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as browser:
        for _ in range(2):
            assert (await browser.get(f"/products/{p.id}")).status_code == 200
        assert await today_counts(app, p.id) is None  # still in memory
    assert await today_counts(app, p.id) == (2, 0, 0)
    assert app.state.views.pending() == 0
