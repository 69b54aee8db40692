"""Daily counters and the popular-now recompute on a real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.catalog.popularity import add_views, bump, recompute_popularity, record_bid, record_purchase
from app.models.catalog import Product, ProductDailyStats, ProductStatus
from app.models.events import OutboxEvent

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)


async def stats(app, product_id: int) -> dict[date, tuple[int, int, int]]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(ProductDailyStats).where(ProductDailyStats.product_id == product_id))
        return {r.day: (r.views, r.purchases, r.bids) for r in rows.scalars()}


async def count(app, product_id: int, views=0, purchases=0, bids=0, day: date = TODAY) -> None:
    async with app.state.database.transaction() as db:
        for _ in range(views):  # views reach the table through the flush's upsert
            await add_views(db, {(product_id, day): 1})
        for _ in range(purchases):
            await record_purchase(db, product_id, day)
        for _ in range(bids):
            await record_bid(db, product_id, day)


async def popularity(app, *products) -> list[int]:
    async with app.state.database.transaction() as db:
        return [(await db.get(Product, p.id)).popularity for p in products]


async def changed_events(app) -> list[int]:
    async with app.state.database.transaction() as db:
        stmt = select(OutboxEvent.aggregate_id).where(OutboxEvent.topic == "product.changed")
        return list((await db.execute(stmt.order_by(OutboxEvent.created_at))).scalars())


async def recompute(app, **kwargs) -> int:
    async with app.state.database.transaction() as db:
        return await recompute_popularity(db, NOW, **kwargs)


async def test_counters_upsert_one_row_per_product_and_day(app, members, products):
    seller = await members.seller()
    a = await products.create(seller)
    b = await products.create(seller)
    await count(app, a.id, views=3)
    await count(app, a.id, views=1, day=YESTERDAY)
    await count(app, a.id, purchases=2, bids=4)
    await count(app, b.id, views=1)
    assert await stats(app, a.id) == {TODAY: (3, 2, 4), YESTERDAY: (1, 0, 0)}
    assert await stats(app, b.id) == {TODAY: (1, 0, 0)}
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(func.count()).select_from(ProductDailyStats))).scalar_one() == 3
        with pytest.raises(ValueError):
            await bump(db, a.id, "price")


async def test_recompute_follows_the_formula(app, members, products):
    seller = await members.seller()
    a, b, c, old = [await products.create(seller) for _ in range(4)]
    # today: 10 views + 5 × 2 purchases + 3 × 1 bid = 23; yesterday: (4 + 3 × 1) × 0.5 = 3.5 → 26
    await count(app, a.id, views=10, purchases=2, bids=1)
    await count(app, a.id, views=4, bids=1, day=YESTERDAY)
    await count(app, b.id, views=3, day=YESTERDAY)  # 1.5 → 1
    await count(app, c.id, purchases=1)  # 5
    await count(app, old.id, views=100, day=TODAY - timedelta(days=2))  # too old to count
    assert await recompute(app) == 3
    assert await popularity(app, a, b, c, old) == [26, 1, 5, 0]


async def test_only_changed_rows_are_written_and_announced(app, members, products):
    seller = await members.seller()
    a, b, quiet = [await products.create(seller) for _ in range(3)]
    hidden = await products.create(seller, status=ProductStatus.HIDDEN, hidden_from=ProductStatus.ON_SALE)
    stale = await products.create(seller, popularity=40)  # no counts any more
    await count(app, a.id, views=2)
    await count(app, b.id, views=1)
    await count(app, hidden.id, views=5)
    before = len(await changed_events(app))
    assert await recompute(app) == 4
    assert await popularity(app, a, b, quiet, hidden, stale) == [2, 1, 0, 5, 0]
    # search hears of the public products whose score changed, not of the hidden one
    assert sorted((await changed_events(app))[before:]) == sorted([a.id, b.id, stale.id])

    before = len(await changed_events(app))
    assert await recompute(app) == 0  # nothing changed
    assert len(await changed_events(app)) == before

    await count(app, b.id, views=1)
    assert await recompute(app) == 1
    assert await popularity(app, a, b) == [2, 2]
    assert (await changed_events(app))[before:] == [b.id]


async def test_announcements_are_capped_and_the_rest_waits_for_the_next_run(app, members, products):
    seller = await members.seller()
    a, b, c = [await products.create(seller) for _ in range(3)]
    await count(app, a.id, views=1)
    await count(app, b.id, views=9)
    await count(app, c.id, views=4)
    before = len(await changed_events(app))
    assert await recompute(app, notify_limit=2) == 2  # the two largest changes first
    assert await popularity(app, a, b, c) == [0, 9, 4]
    assert await recompute(app, notify_limit=2) == 1
    assert await popularity(app, a, b, c) == [1, 9, 4]
    announced = (await changed_events(app))[before:]
    assert set(announced[:2]) == {b.id, c.id} and announced[2:] == [a.id]


async def test_yesterday_fades_out_as_the_days_pass(app, members, products):
    seller = await members.seller()
    a = await products.create(seller)
    await count(app, a.id, views=10)
    assert await recompute(app) == 1 and await popularity(app, a) == [10]
    async with app.state.database.transaction() as db:
        assert await recompute_popularity(db, NOW + timedelta(days=1)) == 1
    assert await popularity(app, a) == [5]
    async with app.state.database.transaction() as db:
        assert await recompute_popularity(db, NOW + timedelta(days=2)) == 1
    assert await popularity(app, a) == [0]
