"""The close follows the end: a late bid pushes the end back and sends the close message again;
the in-process worker closes the auction at the new end, not the old one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.auctions.rules import AuctionStatus
from app.models.auctions import Auction
from app.models.base import utcnow
from tests.helpers.auctions import live_auction
from tests.helpers.web import login, place


@pytest.fixture
def settings(settings):
    return settings.with_changes(auction_extend_seconds=2, sweep_seconds=3600)


async def auction_row(app, auction_id: int) -> Auction:
    async with app.state.database.transaction() as db:
        return await db.get(Auction, auction_id)


async def test_a_late_bid_moves_the_close_to_the_new_end(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    member = await members.create()
    await login(client, member.email)
    first_end = utcnow() + timedelta(seconds=1.5)
    async with app.state.database.transaction() as db:
        await db.execute(update(Auction).where(Auction.id == auction.id).values(ends_at=first_end))
    r = await place(client, auction.id, "10000")
    assert r.status_code == 200
    new_end = (await auction_row(app, auction.id)).ends_at
    assert new_end == first_end + timedelta(seconds=2)
    await asyncio.sleep(max(0.0, (first_end - utcnow()).total_seconds()) + 0.5)
    assert (await auction_row(app, auction.id)).status is AuctionStatus.LIVE  # the old end passed: still live
    for _ in range(100):
        fresh = await auction_row(app, auction.id)
        if fresh.status is not AuctionStatus.LIVE:
            break
        await asyncio.sleep(0.1)
    assert fresh.status is AuctionStatus.CLOSED and fresh.closed_at >= new_end
    assert fresh.closed_at - new_end < timedelta(seconds=3)
