"""What the seller's live charts read: for every live drop at once, the purchase rights granted and
paid and the presses refused per time bucket since the opening (counted by the database, grouped
by bucket: a few rows per bucket whatever the crowd), and for every live auction its stored bids
in order, replayed by ``chart_rules``. A fixed number of statements for any number of subjects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auctions import Auction, Bid
from app.models.catalog import Product
from app.models.drops import PressRefusal, PurchaseRight, RightStatus
from app.sellers.chart_rules import (
    BidChart,
    PlacedBid,
    SellThrough,
    bid_chart,
    bucket_width,
    replay_winning_bids,
    sell_through,
)

Counts = dict[int, dict[int, int]]  # subject id → bucket index → count

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(moment: datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def _seconds(db: AsyncSession, column: Any) -> Any:
    """Seconds since 1970 of a stored UTC time, in the database's own arithmetic."""
    if db.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _whole(db: AsyncSession, value: Any) -> Any:
    """``value`` rounded down (SQLite's cast truncates, which is the same for the times after an
    opening; a time before it lands in the first bucket anyway)."""
    if db.get_bind().dialect.name == "postgresql":
        return cast(func.floor(value), Integer)
    return cast(value, Integer)


def _bucket(
    db: AsyncSession,
    subject: Any,
    at: Any,
    starts: dict[int, datetime],
    widths: dict[int, int],
) -> Any:
    """The bucket index of ``at`` for the subject of the row (each has its own start and width)."""
    start = case({i: _epoch(s) for i, s in starts.items()}, value=subject)
    width = case(dict(widths), value=subject)
    return _whole(db, (_seconds(db, at) - start) / width)


async def _counts(
    db: AsyncSession,
    subject: Any,
    at: Any,
    where: Sequence[Any],
    spans: tuple[dict[int, datetime], dict[int, int]],
) -> Counts:
    """Rows counted per subject and bucket of their time ``at`` (``spans``: starts and widths)."""
    starts, widths = spans
    bucket = _bucket(db, subject, at, starts, widths).label("bucket")
    stmt = select(subject, bucket, func.count()).where(*where).group_by(subject, bucket)
    out: Counts = defaultdict(dict)
    for subject_id, index, count in (await db.execute(stmt)).all():
        out[int(subject_id)][int(index)] = int(count)
    return out


async def sell_through_charts(db: AsyncSession, drops: Sequence[Product], now: datetime) -> dict[int, SellThrough]:
    """The sell-through chart of each drop since its opening (its sale start), up to ``now``."""
    if not drops:
        return {}
    starts = {p.id: p.sale_starts_at for p in drops}
    widths = {p.id: bucket_width((now - p.sale_starts_at).total_seconds()) for p in drops}
    ids = list(starts)
    right_product = PurchaseRight.product_id
    spans = (starts, widths)
    taken = await _counts(db, right_product, PurchaseRight.created_at, [right_product.in_(ids)], spans)
    paid_rights = [
        right_product.in_(ids),
        PurchaseRight.status == RightStatus.PAID,
        PurchaseRight.decided_at.is_not(None),
    ]
    paid = await _counts(db, right_product, PurchaseRight.decided_at, paid_rights, spans)
    refusals = [PressRefusal.product_id.in_(ids)]
    refused = await _counts(db, PressRefusal.product_id, PressRefusal.created_at, refusals, spans)
    charts = {}
    for product_id, opened in starts.items():
        presses = dict(taken.get(product_id, {}))
        for index, count in refused.get(product_id, {}).items():
            presses[index] = presses.get(index, 0) + count
        charts[product_id] = sell_through(
            opened, now, taken.get(product_id, {}), paid.get(product_id, {}), presses, widths[product_id]
        )
    return charts


async def bid_charts(db: AsyncSession, auctions: Sequence[Auction], now: datetime) -> dict[int, BidChart]:
    """The bid chart of each auction since its start: every stored bid replayed in order."""
    if not auctions:
        return {}
    rows = await db.execute(
        select(Bid.auction_id, Bid.member_id, Bid.amount, Bid.sequence, Bid.created_at)
        .where(Bid.auction_id.in_([a.id for a in auctions]))
        .order_by(Bid.auction_id, Bid.sequence)
    )
    placed: dict[int, list[PlacedBid]] = defaultdict(list)
    for auction_id, member_id, amount, sequence, at in rows.all():
        placed[auction_id].append(PlacedBid(member_id, amount, sequence, at))
    charts = {}
    for auction in auctions:
        end = min(now, auction.ends_at)
        steps = replay_winning_bids(placed.get(auction.id, []), auction.units)
        width = bucket_width((end - auction.starts_at).total_seconds())
        charts[auction.id] = bid_chart(auction.starts_at, end, steps, width)
    return charts
