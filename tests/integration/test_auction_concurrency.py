"""200 bids from 50 members at once, through four bid services with their own connection pools
(as four web processes would be): every acknowledged bid is stored, the standing bids and their
ranking agree with the stored bids, and the auction closes once with the right winners. Run on
PostgreSQL (``TEST_DATABASE_URL``) this is a real race on the auction's row lock."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select

from app.auctions.bidding import BidRequest, BidService
from app.auctions.rules import Bid as RuleBid
from app.auctions.rules import ranking
from app.db import Database
from app.models.auctions import Auction, AuctionResult, Bid, StandingBid
from app.models.orders import Order
from tasks.auctions import close_now
from tests.helpers.auctions import end_now, live_auction
from tests.helpers.keys import key

UNITS = 5


async def test_two_hundred_concurrent_bids_from_fifty_members(app, members, products):
    auction = await live_auction(app, members, products, units=UNITS, start=10_000, increment=100)
    bidders = [await members.create() for _ in range(50)]
    processes = [Database(app.state.settings) for _ in range(4)]
    services = [BidService(db, app.state.settings.auction_extend_seconds) for db in processes]
    rng = random.Random(6)
    order = [m for m in bidders for _ in range(4)]
    rng.shuffle(order)
    requests = []
    for i, member in enumerate(order):  # rising, as a live crowd bids, with some too low or tied
        amount = 10_000 + 300 * max(0, i + rng.randrange(-8, 3))
        maximum = amount + 100 * rng.randrange(1, 30) if rng.random() < 0.2 else None
        requests.append(BidRequest(auction.id, member.id, amount, maximum, key()))
    try:
        answers = await asyncio.gather(*(services[i % 4].place(r) for i, r in enumerate(requests)))
    finally:
        for db in processes:
            await db.dispose()
    accepted = [(r, a) for r, a in zip(requests, answers, strict=True) if a.accepted]
    refused = [a for a in answers if not a.accepted]
    assert len(accepted) + len(refused) == 200 and len(accepted) >= 40
    reasons = ("Bid at least ₩", "Your bid stands at ₩")  # too low against the bids stored before it
    assert all(a.message.startswith(reasons) for a in refused)

    async with app.state.database.transaction() as db:
        stored = (await db.execute(select(Bid).where(Bid.auction_id == auction.id))).scalars().all()
        rows = (await db.execute(select(StandingBid).where(StandingBid.auction_id == auction.id))).scalars().all()
        fresh = await db.get(Auction, auction.id)
    by_key = {b.key: b for b in stored if b.key}
    for request, answer in accepted:  # every acknowledged bid is stored, as acknowledged
        row = by_key[request.key]
        assert row.member_id == request.member_id and row.amount == request.amount
        assert answer.amount >= request.amount
    assert len(by_key) == len(accepted)
    sequences = sorted(b.sequence for b in stored)
    assert sequences == list(range(1, len(stored) + 1)) and fresh.bid_count == len(stored)
    # the standing bid of each member is their latest stored bid, and the highest
    latest = {b.member_id: b for b in sorted(stored, key=lambda b: b.sequence)}
    assert {s.member_id: (s.amount, s.sequence) for s in rows} == {m: (b.amount, b.sequence) for m, b in latest.items()}
    assert all(latest[m].amount == max(b.amount for b in stored if b.member_id == m) for m in latest)
    expected = ranking(RuleBid(b.member_id, b.amount, b.sequence) for b in stored)[:UNITS]

    await end_now(app, auction.id)
    closers = [Database(app.state.settings) for _ in range(2)]
    try:
        closed = await asyncio.gather(*(close_now(auction.id) for _ in range(6)))
    finally:
        for db in closers:
            await db.dispose()
    assert closed.count(True) == 1
    async with app.state.database.transaction() as db:
        results = (
            (
                await db.execute(
                    select(AuctionResult).where(AuctionResult.auction_id == auction.id).order_by(AuctionResult.unit)
                )
            )
            .scalars()
            .all()
        )
        orders = (await db.execute(select(Order).order_by(Order.id))).scalars().all()
    assert [(r.member_id, r.amount, r.rank) for r in results] == [
        (b.member_id, b.amount, i) for i, b in enumerate(expected, start=1)
    ]
    assert sorted((o.member_id, o.amount) for o in orders) == sorted((b.member_id, b.amount) for b in expected)
