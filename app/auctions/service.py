"""An auction's life outside bidding: opened for a product (on conversion, or at the start of an
auction-only listing), closed exactly once, its units offered to the winners in rank order (each
with an order to pay), passed on when a winner gives up or does not pay, settled when every unit is
paid or unsold. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions.result_rules import RESULT_STATUS
from app.auctions.rules import AUCTION_STATUS, AuctionStatus
from app.core.i18n import DEFAULT_LANGUAGE, _, ngettext, using
from app.core.status import Aggregate, Move, columns, created, due, move, own_history, register, try_move
from app.db import add_once
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.auctions import Auction, AuctionChange, AuctionResult, NotificationKind, ResultStatus, StandingBid
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.members import Member
from app.models.orders import Order, OrderSource, OrderStatus
from app.notifications.service import notify
from app.orders.rules import PAYABLE
from app.orders.service import new_order, open_order

publishes(Topic.AUCTION_OPENED)  # a new auction, open for bids; its moves publish auction.{status}
# Results that still wait on the member (the others are final).
OPEN_RESULTS = (ResultStatus.OFFERED,)


def _auction_values(step: Move[AuctionStatus]) -> dict[str, object]:
    if step.target is AuctionStatus.CLOSED:
        return {"closed_at": step.now}
    if step.target is AuctionStatus.SETTLED:
        return {"settled_at": step.now}
    return {}


AUCTION = register(
    Aggregate("auction", Auction, AUCTION_STATUS, own_history(AuctionChange.auction_id), values=_auction_values)
)
RESULT = register(Aggregate("auction_result", AuctionResult, RESULT_STATUS, payload=columns("auction_id", "order_id")))


async def auction_of_product(db: AsyncSession, product_id: int) -> Auction | None:
    return (await db.execute(select(Auction).where(Auction.product_id == product_id))).scalar_one_or_none()


async def open_for_product(db: AsyncSession, product_id: int, now: datetime | None = None) -> Auction | None:
    """The auction of a product that went live as an auction: created on first call (idempotent:
    one auction per product), for the units left after the fixed-price sale, and opened at once."""
    if (existing := await auction_of_product(db, product_id)) is not None:
        return existing
    product = await db.get(Product, product_id)
    if product is None or product.status is not ProductStatus.AUCTION_LIVE or product.auction_quantity < 1:
        return None
    now = now or utcnow()
    duration = timedelta(minutes=product.auction_duration_minutes or 60)
    auction = Auction(
        product_id=product.id,
        seller_id=product.seller_id,
        units=product.auction_quantity,
        start_price=product.auction_start_price or product.list_price,
        increment=product.auction_increment or 1_000,
        duration_seconds=int(duration.total_seconds()),
        status=AuctionStatus.SCHEDULED,
        starts_at=now,
        ends_at=now + duration,
    )
    if not await add_once(db, auction):  # one auction per product: another handler opened it first
        return await auction_of_product(db, product_id)
    created(db, auction, reason="created")
    await move(db, auction, AuctionStatus.LIVE, reason="bidding opens")
    await record_event(db, Topic.AUCTION_OPENED, "auction", auction.id, product_id=product.id)
    return auction


# ---------------------------------------------------------------------------------------- close


async def close(db: AsyncSession, auction_id: int, *, pay_seconds: int, now: datetime | None = None) -> bool:
    """Close a live auction whose end has come, exactly once however often (or late) it is asked:
    a conditional update moves it, and only the caller that moved it offers the units. A bid that
    extended the end meanwhile holds the row, so the update re-reads the new end and does nothing."""
    now = now or utcnow()
    auction = await db.get(Auction, auction_id, populate_existing=True)
    if auction is None or auction.status is not AuctionStatus.LIVE or auction.ends_at > now:
        return False
    if not await try_move(
        db, auction, AuctionStatus.CLOSED, reason="the end time came", where=[Auction.ends_at <= now], now=now
    ):
        return False
    product = await db.get(Product, auction.product_id, populate_existing=True)
    if product is not None and product.status is ProductStatus.AUCTION_LIVE:
        await try_move(db, product, ProductStatus.ENDED, reason="the auction closed")
    winners = (await db.execute(_ranked(auction.id).limit(auction.units))).scalars().all()
    for rank, standing in enumerate(winners, start=1):
        await _offer(db, auction, unit=rank, rank=rank, standing=standing, pay_seconds=pay_seconds, now=now, first=True)
    await _unsold(db, auction, range(len(winners) + 1, auction.units + 1), now)
    await settle_if_done(db, auction)
    return True


async def _unsold(db: AsyncSession, auction: Auction, units: Iterable[int], now: datetime) -> None:
    """Units no bidder is left to take: recorded unsold (a result's first and last status)."""
    results = [
        AuctionResult(auction_id=auction.id, unit=unit, status=ResultStatus.UNSOLD, updated_at=now) for unit in units
    ]
    if not results:
        return
    db.add_all(results)
    await db.flush()
    for result in results:
        created(db, result, reason="no bidder left")


def _ranked(auction_id: int) -> Select[StandingBid]:
    return (
        select(StandingBid)
        .where(StandingBid.auction_id == auction_id)
        .order_by(StandingBid.amount.desc(), StandingBid.sequence)
    )


async def _offer(
    db: AsyncSession,
    auction: Auction,
    *,
    unit: int,
    rank: int,
    standing: StandingBid,
    pay_seconds: int,
    now: datetime,
    first: bool,
) -> AuctionResult:
    """Offer one unit to a bidder at their own bid: a result row and an order with its deadline."""
    order = new_order(
        member_id=standing.member_id,
        seller_id=auction.seller_id,
        product_id=auction.product_id,
        source=OrderSource.AUCTION,
        unit_price=standing.amount,
        pay_by=now + timedelta(seconds=pay_seconds),
    )
    db.add(order)
    await db.flush()
    await open_order(db, order, reason="auction won" if first else "auction unit offered", auction_id=auction.id)
    result = AuctionResult(
        auction_id=auction.id,
        unit=unit,
        rank=rank,
        member_id=standing.member_id,
        amount=standing.amount,
        order_id=order.id,
        status=ResultStatus.OFFERED,
        updated_at=now,
    )
    db.add(result)
    await db.flush()
    created(db, result, reason="offered at the close" if first else "passed on")
    name = await db.scalar(select(Product.name).where(Product.id == auction.product_id))
    amount = f"₩{standing.amount:,}"
    with using(await _language_of(db, standing.member_id)):  # the notice is read in the winner's language
        if first:
            text = _("You won %(product)s at %(amount)s. Pay by the deadline to keep it.", product=name, amount=amount)
            kind = NotificationKind.WON
        else:
            text = _(
                "A unit of %(product)s is offered to you at your bid of %(amount)s. Pay by the deadline to take it.",
                product=name,
                amount=amount,
            )
            kind = NotificationKind.OFFERED
    await notify(
        db, standing.member_id, kind, text, f"/orders/{order.id}", f"{kind.value}:{auction.id}", about=name or ""
    )
    return result


async def _language_of(db: AsyncSession, member_id: int) -> str:
    """The language a notice to the member is written in: theirs, else the shop's default."""
    return await db.scalar(select(Member.language).where(Member.id == member_id)) or DEFAULT_LANGUAGE


# ---------------------------------------------------------------------------------- pass over


async def release_offer(
    db: AsyncSession,
    result_id: int,
    target: ResultStatus,
    *,
    reason: str,
    pay_seconds: int,
    now: datetime | None = None,
) -> bool:
    """An offered unit goes back (the winner gave up, did not pay in time, or the payment failed):
    the result is marked, the order cancelled if still payable, and the unit offered to the next
    bidder in rank order, or recorded unsold when no bidder is left. Once per result."""
    now = now or utcnow()
    result = await db.get(AuctionResult, result_id, populate_existing=True)
    if result is None or result.status is not ResultStatus.OFFERED:
        return False
    if not await try_move(db, result, target, reason=reason, now=now):
        return False
    order = await db.get(Order, result.order_id, populate_existing=True) if result.order_id else None
    if order is not None and order.status in PAYABLE:
        await move(db, order, OrderStatus.CANCELLED, reason=reason)
    auction = await db.get(Auction, result.auction_id, populate_existing=True)
    assert auction is not None
    await offer_next(db, auction, unit=result.unit, pay_seconds=pay_seconds, now=now)
    await settle_if_done(db, auction)
    return True


async def offer_next(db: AsyncSession, auction: Auction, *, unit: int, pay_seconds: int, now: datetime) -> None:
    offered = select(AuctionResult.member_id).where(
        AuctionResult.auction_id == auction.id, AuctionResult.member_id.is_not(None)
    )
    following = (
        await db.execute(_ranked(auction.id).where(StandingBid.member_id.not_in(offered)).limit(1))
    ).scalar_one_or_none()
    if following is None:
        await _unsold(db, auction, [unit], now)
        return
    above = await db.scalar(
        select(func.count())
        .select_from(StandingBid)
        .where(
            StandingBid.auction_id == auction.id,
            or_(
                StandingBid.amount > following.amount,
                and_(StandingBid.amount == following.amount, StandingBid.sequence < following.sequence),
            ),
        )
    )
    await _offer(
        db,
        auction,
        unit=unit,
        rank=int(above or 0) + 1,
        standing=following,
        pay_seconds=pay_seconds,
        now=now,
        first=False,
    )


async def settle_if_done(db: AsyncSession, auction: Auction) -> bool:
    """Closed → settled once no unit waits on a bidder any more."""
    if auction.status is not AuctionStatus.CLOSED:
        return False
    waiting = await db.scalar(
        select(func.count())
        .select_from(AuctionResult)
        .where(AuctionResult.auction_id == auction.id, AuctionResult.status.in_(OPEN_RESULTS))
    )
    if waiting:
        return False
    return await try_move(db, auction, AuctionStatus.SETTLED, reason="every unit is paid or unsold")


async def result_of_order(db: AsyncSession, order_id: int) -> AuctionResult | None:
    return (await db.execute(select(AuctionResult).where(AuctionResult.order_id == order_id))).scalar_one_or_none()


async def record_paid(db: AsyncSession, order_id: int) -> bool:
    result = await result_of_order(db, order_id)
    if result is None or result.status is not ResultStatus.OFFERED:
        return False
    if not await try_move(db, result, ResultStatus.PAID, reason=f"order {order_id} paid"):
        return False
    auction = await db.get(Auction, result.auction_id, populate_existing=True)
    assert auction is not None
    await settle_if_done(db, auction)
    return True


async def due_auctions(db: AsyncSession, now: datetime | None = None, limit: int = 200) -> list[int]:
    return await due(db, AuctionStatus.LIVE, Auction.ends_at, now, limit)


async def due_offers(db: AsyncSession, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Offers whose order was not paid by its deadline."""
    now = now or utcnow()
    stmt = (
        select(AuctionResult.id)
        .join(Order, Order.id == AuctionResult.order_id)
        .where(AuctionResult.status == ResultStatus.OFFERED, Order.pay_by <= now, Order.status.in_(PAYABLE))
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def remind_deadlines(db: AsyncSession, *, pay_seconds: int, now: datetime | None = None) -> int:
    """ "Your payment deadline is near" once per offer, in the last quarter of the time to pay (at
    most the last hour)."""
    now = now or utcnow()
    window = timedelta(seconds=min(3600, max(60, pay_seconds // 4)))
    rows = (
        await db.execute(
            select(Order.id, Order.member_id, Order.pay_by, Product.name)
            .join(AuctionResult, AuctionResult.order_id == Order.id)
            .join(Product, Product.id == Order.product_id)
            .where(
                AuctionResult.status == ResultStatus.OFFERED,
                Order.status.in_(PAYABLE),
                Order.pay_by > now,
                Order.pay_by <= now + window,
            )
            .limit(1000)
        )
    ).all()
    for order_id, member_id, pay_by, name in rows:
        minutes = max(1, int((pay_by - now).total_seconds() // 60))
        with using(await _language_of(db, member_id)):
            text = ngettext(
                "Pay for %(product)s within %(num)d minute, or it passes to the next bidder.",
                "Pay for %(product)s within %(num)d minutes, or it passes to the next bidder.",
                minutes,
                product=name,
            )
        await notify(
            db,
            member_id,
            NotificationKind.DEADLINE,
            text,
            f"/orders/{order_id}",
            f"deadline:{order_id}",
            about=name,
        )
    return len(rows)
