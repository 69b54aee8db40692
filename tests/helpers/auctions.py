"""Set-up shared by the auction tests: a product converted to a live auction (through the real
transition and its events), bids placed through the bid service, events dispatched."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.auctions.bidding import BidAnswer, BidRequest, BidService
from app.catalog.transitions import transition
from app.events.dispatch import dispatch
from app.models.auctions import Auction
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.events import OutboxEvent
from tests.helpers.keys import key


async def dispatch_all(app) -> int:
    """Run every recorded event's handlers (each once), until handlers record no new events."""
    done: set[str] = set()
    while True:
        async with app.state.database.transaction() as db:
            ids = [i for i in (await db.execute(select(OutboxEvent.id).order_by(OutboxEvent.id))).scalars()]
        fresh = [i for i in ids if i not in done]
        if not fresh:
            return len(done)
        for event_id in fresh:
            await dispatch(app.state.database, event_id)
            done.add(event_id)


async def live_auction(
    app, members, products, *, units: int = 2, start: int = 10_000, increment: int = 1_000, minutes: int = 60
) -> Auction:
    """A sold-out drop whose fixed-price units are paid converts: its auction opens for the rest."""
    product = await products.create(
        await members.seller(),
        status=ProductStatus.CONVERSION_PENDING,
        fixed_quantity=2,
        taken_quantity=2,
        total_quantity=2 + units,
        auction_start_price=start,
        auction_increment=increment,
        auction_duration_minutes=minutes,
    )
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        await transition(db, fresh, ProductStatus.AUCTION_LIVE, reason="every fixed-price unit is paid")
    await dispatch_all(app)
    async with app.state.database.transaction() as db:
        return (await db.execute(select(Auction).where(Auction.product_id == product.id))).scalar_one()


def bids(app) -> BidService:
    return BidService(app.state.database, app.state.settings.auction_extend_seconds)


async def bid(app, auction_id: int, member_id: int, amount: int | None, maximum: int | None = None, **kw) -> BidAnswer:
    return await bids(app).place(
        BidRequest(auction_id, member_id, amount, maximum, kw.get("key", key())), kw.get("now")
    )


async def end_now(app, auction_id: int) -> None:
    async with app.state.database.transaction() as db:
        await db.execute(
            update(Auction).where(Auction.id == auction_id).values(ends_at=utcnow() - timedelta(seconds=1))
        )
