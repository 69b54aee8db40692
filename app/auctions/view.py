"""What auction pages show: the shared live state (the same for every viewer, pushed over SSE),
one member's position in it, the member's bid history and the seller's results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions.rules import AuctionStatus, won
from app.core.i18n import _
from app.core.labels import labels_of
from app.models.auctions import Auction, AuctionResult, ResultStatus, StandingBid
from app.models.catalog import Product
from app.models.members import Member
from app.models.orders import Order

STATUS_LABELS = labels_of("auction", AuctionStatus)
RESULT_LABELS = labels_of("result", ResultStatus)

Mine = TypeVar("Mine", StandingBid, AuctionResult)


def masked(name: str) -> str:
    """Bidders are shown by initial only."""
    return (name[:1] or "?").upper() + "•••"


async def auction_state(db: AsyncSession, auction_id: int) -> dict[str, Any] | None:
    """The live state every viewer shares: status, end time, the top bids (one per unit), the
    minimum next bid."""
    row = (
        await db.execute(
            select(Auction, Product.name)
            .join(Product, Product.id == Auction.product_id)
            .where(Auction.id == auction_id)
        )
    ).first()
    if row is None:
        return None
    auction, product_name = row
    top = (
        await db.execute(
            select(StandingBid.member_id, StandingBid.amount, StandingBid.updated_at, Member.display_name)
            .join(Member, Member.id == StandingBid.member_id)
            .where(StandingBid.auction_id == auction_id)
            .order_by(StandingBid.amount.desc(), StandingBid.sequence)
            .limit(auction.units)
        )
    ).all()
    if len(top) < auction.units:
        minimum = auction.start_price
    else:
        minimum = top[-1].amount + auction.increment
    bidders = await db.scalar(select(func.count()).select_from(StandingBid).where(StandingBid.auction_id == auction_id))
    return {
        "auction_id": auction.id,
        "product_id": auction.product_id,
        "product_name": product_name,
        "status": auction.status.value,
        "label": STATUS_LABELS[auction.status],
        "lowest": top[-1].amount if len(top) >= auction.units else None,
        "units": auction.units,
        "start_price": auction.start_price,
        "increment": auction.increment,
        "ends_at": auction.ends_at,
        "bid_count": auction.bid_count,
        "bidders": int(bidders or 0),
        "minimum": minimum,
        "current": top[0].amount if top else None,
        "top": [
            {"rank": i, "member_id": r.member_id, "name": masked(r.display_name), "amount": r.amount}
            for i, r in enumerate(top, start=1)
        ],
    }


def live_extra(state: dict[str, Any]) -> dict[str, Any]:
    """What each viewer's stream needs besides the shared HTML to tell the member where they stand
    (never sent to the browser)."""
    return {
        "winners": [[t["member_id"], t["amount"]] for t in state["top"]],
        "minimum": state["minimum"],
        "status": state["status"],
        "auction_id": state["auction_id"],
    }


@dataclass(frozen=True)
class Position:
    kind: str  # "none", "winning", "outbid", "won", "lost"
    text: str
    amount: int | None = None
    maximum: int | None = None


def position(
    member_id: int | None,
    winners: list[list[int]] | list[tuple[int, int]],
    minimum: int,
    status: str,
    mine: int | None,
    maximum: int | None = None,
    result: AuctionResult | None = None,
) -> Position:
    """Where one member stands: while live, from the shared state and their own standing bid;
    once closed, from their result (the units are offered down the ranking, so the top bids at the
    close no longer say who holds a unit)."""
    if member_id is None:
        return Position("none", _("Sign in to bid."))
    if status != AuctionStatus.LIVE.value:
        return _after_close(result, mine)
    ranks = {m: (i, amount) for i, (m, amount) in enumerate(winners, start=1)}
    if member_id in ranks:
        rank, amount = ranks[member_id]
        return Position(
            "winning", _("Winning at %(amount)s (rank %(rank)s).", amount=won(amount), rank=rank), amount, maximum
        )
    if mine is None:
        return Position("none", _("No bid yet — bid at least %(amount)s.", amount=won(minimum)))
    return Position("outbid", _("Outbid — bid at least %(amount)s.", amount=won(minimum)), mine, maximum)


def _after_close(result: AuctionResult | None, mine: int | None) -> Position:
    if result is None or result.amount is None:
        if mine is None:
            return Position("none", _("You did not bid."))
        return Position("lost", _("Your bid of %(amount)s did not win a unit.", amount=won(mine)), mine)
    amount, rank = won(result.amount), result.rank
    texts = {
        ResultStatus.OFFERED: (
            "won",
            _(
                "You won a unit at %(amount)s (rank %(rank)s). Pay by the deadline to keep it.",
                amount=amount,
                rank=rank,
            ),
        ),
        ResultStatus.PAID: (
            "won",
            _("You won a unit at %(amount)s (rank %(rank)s) and paid for it.", amount=amount, rank=rank),
        ),
        ResultStatus.GIVEN_UP: ("given_up", _("You gave up the unit you won at %(amount)s.", amount=amount)),
        ResultStatus.PASSED_OVER: (
            "passed_over",
            _("The unit you won at %(amount)s was not paid in time and passed on.", amount=amount),
        ),
    }
    kind, text = texts.get(result.status, ("lost", _("Your bid of %(amount)s did not win a unit.", amount=amount)))
    return Position(kind, text, result.amount)


async def _members_row(db: AsyncSession, model: type[Mine], auction_id: int, member_id: int | None) -> Mine | None:
    """The member's row of ``model`` in this auction (None for a visitor, or a member without one)."""
    if member_id is None:
        return None
    query = select(model).where(model.auction_id == auction_id, model.member_id == member_id)
    return (await db.execute(query)).scalar_one_or_none()


async def my_standing(db: AsyncSession, auction_id: int, member_id: int | None) -> StandingBid | None:
    return await _members_row(db, StandingBid, auction_id, member_id)


async def bid_context(db: AsyncSession, member_id: int, auction_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For the member's bid history: each auction's product, status, end and the member's standing."""
    if not auction_ids:
        return {}
    rows = (
        await db.execute(
            select(Auction, Product.name, StandingBid.amount)
            .join(Product, Product.id == Auction.product_id)
            .outerjoin(StandingBid, (StandingBid.auction_id == Auction.id) & (StandingBid.member_id == member_id))
            .where(Auction.id.in_(set(auction_ids)))
        )
    ).all()
    return {a.id: {"auction": a, "name": name, "standing": standing} for a, name, standing in rows}


async def results(db: AsyncSession, auction_id: int) -> list[Any]:
    return list(
        (
            await db.execute(
                select(AuctionResult, Member.display_name, Order.status)
                .outerjoin(Member, Member.id == AuctionResult.member_id)
                .outerjoin(Order, Order.id == AuctionResult.order_id)
                .where(AuctionResult.auction_id == auction_id)
                .order_by(AuctionResult.unit, AuctionResult.id)
            )
        ).all()
    )


async def my_result(db: AsyncSession, auction_id: int, member_id: int | None) -> AuctionResult | None:
    return await _members_row(db, AuctionResult, auction_id, member_id)
