"""How auctions react to events: a product that goes live as an auction gets its auction; an
opened auction gets its close scheduled; an auction win's order is followed (paid → the unit is
paid for; cancelled or failed → the unit passes to the next bidder; waiting → its deadline is
scheduled)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions import service
from app.core import scheduling
from app.db import database_of
from app.events.handlers import on, on_row
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.auctions import Auction, ResultStatus
from app.models.catalog import ProductStatus
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderSource


@on(Topic.PRODUCT_STATUS_CHANGED, name="auctions.open_on_conversion")
async def open_auction(db: AsyncSession, event: OutboxEvent) -> None:
    """The move to ``auction_live`` opens the auction in its own transaction already
    (``app.catalog.transitions``); this finds it open and does nothing, unless a product reached
    the status some other way."""
    if event.payload.get("to_status") == ProductStatus.AUCTION_LIVE.value:
        await service.open_for_product(db, event.aggregate_id)


@on_row(Topic.AUCTION_OPENED, Auction, name="auctions.schedule_close")
async def schedule_closing(db: AsyncSession, auction: Auction) -> None:
    scheduling.close_auction_at(db, auction.id, auction.ends_at)
    touch_after_commit(db, "auction", auction.id)
    touch_after_commit(db, "product", auction.product_id)


@on_row(Topic.ORDER_AWAITING_PAYMENT, Order, name="auctions.schedule_offer_deadline", source=OrderSource.AUCTION)
async def schedule_offer_deadline(db: AsyncSession, order: Order) -> None:
    scheduling.expire_offer_at(db, order.id, order.pay_by)


@on(Topic.ORDER_PAID, name="auctions.record_paid")
async def record_paid(db: AsyncSession, event: OutboxEvent) -> None:
    await service.record_paid(db, event.aggregate_id)


@on(Topic.ORDER_CANCELLED, Topic.ORDER_FAILED, name="auctions.pass_on_unpaid")
async def pass_on(db: AsyncSession, event: OutboxEvent) -> None:
    """An auction order that ended unpaid some other way (its payment failed, or it was cancelled
    while paying): its unit goes to the next bidder. Giving up and the deadline release the offer
    in their own transaction, so this finds nothing left to do for them."""
    result = await service.result_of_order(db, event.aggregate_id)
    if result is None or result.status is not ResultStatus.OFFERED:
        return
    database = database_of(db)
    assert database is not None, "a handler's session comes from a Database"
    reason = "the payment failed" if event.topic == Topic.ORDER_FAILED else "the order was cancelled"
    if await service.release_offer(
        db, result.id, ResultStatus.PASSED_OVER, reason=reason, pay_seconds=database.settings.auction_pay_seconds
    ):
        touch_after_commit(db, "auction", result.auction_id)
