"""Auction jobs: close an auction at its end (a delayed message, sent again whenever a late bid
pushes the end back; an early delivery finds the end moved and does nothing), pass an unpaid offer
on at its deadline, and the sweep behind both (messages lost to a restart, reminders)."""

from __future__ import annotations

import logging
from datetime import datetime

from app.auctions import service
from app.auctions.rules import AuctionStatus
from app.live.hub import touch_after_commit
from app.models.auctions import Auction, AuctionResult, ResultStatus
from app.models.base import utcnow
from app.models.orders import Order
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)


def _delay_ms(at: datetime) -> int:
    return max(0, int((at - utcnow()).total_seconds() * 1000)) + 50


def schedule_close(auction_id: int, ends_at: datetime) -> None:
    close_auction.send_with_options(args=(auction_id,), delay=_delay_ms(ends_at))


def schedule_offer_expiry(order_id: int, pay_by: datetime) -> None:
    expire_offer.send_with_options(args=(order_id,), delay=_delay_ms(pay_by))


async def close_now(auction_id: int) -> bool:
    """Close the auction if its end has come (once); True when this call closed it."""
    settings = runtime.settings()
    async with runtime.database().transaction() as db:
        closed = await service.close(db, auction_id, pay_seconds=settings.auction_pay_seconds)
        if closed:
            touch_after_commit(db, "auction", auction_id)
    return closed


@actor(queue_name="auctions", max_retries=10, min_backoff=500)
async def close_auction(auction_id: int) -> None:
    if not await close_now(auction_id):
        async with runtime.database().transaction() as db:
            auction = await db.get(Auction, auction_id)
            if auction is not None and auction.status is AuctionStatus.LIVE and auction.ends_at > utcnow():
                schedule_close(auction_id, auction.ends_at)  # early (the end moved): come back at the new end


async def pass_over(order_id: int, *, reason: str = "not paid by the deadline") -> bool:
    settings = runtime.settings()
    async with runtime.database().transaction() as db:
        result = await service.result_of_order(db, order_id)
        if result is None or result.status is not ResultStatus.OFFERED:
            return False
        order = await db.get(Order, order_id)
        if order is None or order.pay_by > utcnow():
            return False
        released = await service.release_offer(
            db, result.id, ResultStatus.PASSED_OVER, reason=reason, pay_seconds=settings.auction_pay_seconds
        )
        if released:
            touch_after_commit(db, "auction", result.auction_id)
    return released


@actor(queue_name="auctions", max_retries=10, min_backoff=500)
async def expire_offer(order_id: int) -> None:
    await pass_over(order_id)


@actor(queue_name="auctions", max_retries=0)
async def sweep_auctions() -> None:
    await sweep()


async def sweep() -> None:
    """Close auctions past their end, pass on offers past their deadline, remind winners whose
    deadline is near: whatever a lost delayed message left undone."""
    async with runtime.database().transaction() as db:
        due = await service.due_auctions(db)
        offers = await service.due_offers(db)
    for auction_id in due:
        if await close_now(auction_id):
            log.info("sweep closed auction %s", auction_id)
    for result_id in offers:
        async with runtime.database().transaction() as db:
            result = await db.get(AuctionResult, result_id)
            order_id = result.order_id if result is not None else None
        if order_id is not None and await pass_over(order_id):
            log.info("sweep passed on the unpaid offer of order %s", order_id)
    async with runtime.database().transaction() as db:
        await service.remind_deadlines(db, pay_seconds=runtime.settings().auction_pay_seconds)


__all__ = ["close_auction", "close_now", "expire_offer", "pass_over", "schedule_close", "sweep", "sweep_auctions"]
