"""Where the popular-now counts come from, on a real database: one ``auction.bids_placed`` event
per committed batch of bids, written with the batch, counted once on its UTC day; the views a
process counted, written in one statement."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from app.auctions.bidding import BidRequest
from app.catalog.popularity import ViewCounter
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.catalog import Product, ProductDailyStats
from app.models.events import OutboxEvent
from tests.helpers.auctions import bids, dispatch_all, live_auction
from tests.helpers.keys import key
from tests.helpers.sql import WRITE, statements


async def bid_events(app) -> list[OutboxEvent]:
    async with app.state.database.transaction() as db:
        stmt = select(OutboxEvent).where(OutboxEvent.topic == Topic.BIDS_PLACED).order_by(OutboxEvent.created_at)
        return list((await db.execute(stmt)).scalars())


async def daily(app, product_id: int) -> dict:
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(ProductDailyStats).where(ProductDailyStats.product_id == product_id))
        return {r.day: (r.views, r.purchases, r.bids) for r in rows.scalars()}


async def test_one_event_per_batch_with_its_accepted_bids_counted_once_on_its_day(app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    a, b, c = [await members.create() for _ in range(3)]
    now = utcnow()
    same = key()
    batch = [
        (BidRequest(auction.id, a.id, 10_000, key=key()), now),
        (BidRequest(auction.id, b.id, 9_000, key=key()), now),  # refused: below the next minimum
        (BidRequest(auction.id, b.id, 11_000, key=same), now),
        (BidRequest(auction.id, b.id, 11_000, key=same), now),  # the same form twice: answered as a replay
        (BidRequest(auction.id, c.id, 12_000, key=key()), now),
    ]
    with statements(app) as seen:
        decided = await bids(app).decide(auction.id, batch)
    assert [x.accepted for x in decided.answers] == [True, False, True, True, True]
    assert decided.accepted == 3
    [event] = await bid_events(app)
    assert (event.aggregate_type, event.aggregate_id) == ("auction", auction.id)
    assert event.payload == {"product_id": auction.product_id, "bids": 3}
    # the event is written with the batch's own writes: on PostgreSQL inside the auction's UPDATE
    outbox = [s for s in seen if "outbox_events" in s and WRITE.search(s)]
    if app.state.database.backend == "postgresql":
        assert len(outbox) == 1 and outbox[0].lstrip().startswith("WITH") and "UPDATE auctions SET" in outbox[0]
    else:
        assert len(outbox) == 1 and outbox[0].lstrip().startswith("INSERT INTO outbox_events")

    refused = await bids(app).decide(auction.id, [(BidRequest(auction.id, a.id, 5_000, key=key()), now)])
    assert refused.accepted == 0 and len(await bid_events(app)) == 1  # nothing accepted: no event

    # days are the UTC days the events were created
    yesterday = (utcnow() - timedelta(days=1)).replace(hour=23, minute=59)
    async with app.state.database.transaction() as db:
        await db.execute(update(OutboxEvent).where(OutboxEvent.id == event.id).values(created_at=yesterday))
    assert (await bids(app).decide(auction.id, [(BidRequest(auction.id, a.id, 20_000, key=key()), now)])).accepted == 1
    await dispatch_all(app)
    await dispatch_all(app)  # every event delivered again: counted once
    assert await daily(app, auction.product_id) == {yesterday.date(): (0, 0, 3), utcnow().date(): (0, 0, 1)}


async def test_a_flush_writes_every_counted_view_in_one_statement(app, members, products):
    seller = await members.seller()
    a, b, gone = [await products.create(seller) for _ in range(3)]
    counter = ViewCounter()
    today = utcnow().date()
    yesterday = today - timedelta(days=1)
    for product_id, day, n in ((a.id, today, 3), (b.id, today, 1), (a.id, yesterday, 2)):
        for _ in range(n):
            counter.add(product_id, day)
    with statements(app) as seen:
        assert await counter.flush(app.state.database) == 6
    assert len([s for s in seen if WRITE.search(s)]) == 1
    assert await daily(app, a.id) == {today: (3, 0, 0), yesterday: (2, 0, 0)}
    assert await daily(app, b.id) == {today: (1, 0, 0)}

    # a product removed since its views were counted does not hold back the others
    counter.add(a.id)
    counter.add(gone.id)
    async with app.state.database.transaction() as db:
        await db.execute(delete(Product).where(Product.id == gone.id))
    assert await counter.flush(app.state.database) == 1
    assert await daily(app, a.id) == {today: (4, 0, 0), yesterday: (2, 0, 0)}
    assert counter.pending() == 0
