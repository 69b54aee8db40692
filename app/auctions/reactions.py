"""How auctions react to events: a product that goes live as an auction gets its auction; an
opened auction gets its close scheduled; an auction win's order is followed (paid → the unit is
paid for; cancelled or failed → the unit passes to the next bidder; waiting → its deadline is
scheduled)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions import service
from app.events.handlers import on
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.auctions import Auction, ResultStatus
from app.models.catalog import ProductStatus
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderSource


@on(Topic.PRODUCT_STATUS_CHANGED, name="auctions.open_on_conversion")
async def open_auction(db: AsyncSession, event: OutboxEvent) -> None:
    if event.payload.get("to_status") == ProductStatus.AUCTION_LIVE.value:
        await service.open_for_product(db, event.aggregate_id)


@on(Topic.AUCTION_OPENED, name="auctions.schedule_close")
async def schedule_closing(db: AsyncSession, event: OutboxEvent) -> None:
    auction = await db.get(Auction, event.aggregate_id)
    if auction is None:
        return
    from tasks.auctions import schedule_close

    schedule_close(auction.id, auction.ends_at)
    touch_after_commit(db, "auction", auction.id)
    touch_after_commit(db, "product", auction.product_id)


@on("order.awaiting_payment", name="auctions.schedule_offer_deadline")
async def schedule_offer_deadline(db: AsyncSession, event: OutboxEvent) -> None:
    order = await db.get(Order, event.aggregate_id)
    if order is None or order.source is not OrderSource.AUCTION:
        return
    from tasks.auctions import schedule_offer_expiry

    schedule_offer_expiry(order.id, order.pay_by)


@on("order.paid", name="auctions.record_paid")
async def record_paid(db: AsyncSession, event: OutboxEvent) -> None:
    await service.record_paid(db, event.aggregate_id)


@on("order.cancelled", "order.failed", name="auctions.pass_on_unpaid")
async def pass_on(db: AsyncSession, event: OutboxEvent) -> None:
    """An auction order that ended unpaid some other way (its payment failed, or it was cancelled
    while paying): its unit goes to the next bidder. Giving up and the deadline release the offer
    in their own transaction, so this finds nothing left to do for them."""
    result = await service.result_of_order(db, event.aggregate_id)
    if result is None or result.status is not ResultStatus.OFFERED:
        return
    from tasks import runtime

    reason = "the payment failed" if event.topic.endswith("failed") else "the order was cancelled"
    if await service.release_offer(
        db, result.id, ResultStatus.PASSED_OVER, reason=reason, pay_seconds=runtime.settings().auction_pay_seconds
    ):
        touch_after_commit(db, "auction", result.auction_id)
