"""What the seller's dashboard (``/seller``) reads, in a fixed number of statements however many
products the seller has: the live and upcoming drops and auctions (a bounded number of each),
the units taken / held / paid / returned (all the seller's drops, and each live one), revenue and
fees today and this month (days and months in the viewer's zone, from the settlement ledger), the
settlement balance, the refund requests waiting for the seller, and the chart of each live drop
and auction. Reads only: the page's request session or a live stream's short one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from app.auctions.rules import AuctionStatus
from app.core.i18n import current_zone
from app.live.hub import channel_for
from app.live.hubs import auction_channel, seller_channel
from app.models.auctions import Auction
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus, StockEntry, StockReason
from app.models.orders import Order
from app.models.payments import Refund, RefundStatus, SettlementEntry
from app.payments.settlement import balance
from app.sellers.chart_rules import BidChart, SellThrough
from app.sellers.charts import bid_charts, sell_through_charts

LIVE_DROP = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING)
RETURNS = (StockReason.EXPIRY, StockReason.PAYMENT_FAILED, StockReason.CANCEL, StockReason.REFUND)
LIVE_LIMIT = 10  # live drops (and live auctions) shown with their chart
UPCOMING_LIMIT = 10


@dataclass
class Units:
    """Fixed-price units: taken (rights granted), held (waiting for payment), paid, returned
    (back to stock after an expiry, a failed payment, a give-up or a refund)."""

    taken: int = 0
    held: int = 0
    paid: int = 0
    returned: int = 0


@dataclass(frozen=True)
class Money:
    gross: int = 0
    fee: int = 0
    net: int = 0


@dataclass(frozen=True)
class LiveDrop:
    product: Product
    units: Units
    chart: SellThrough


@dataclass(frozen=True)
class LiveAuction:
    auction: Auction
    name: str
    chart: BidChart


@dataclass
class Dashboard:
    seller_id: int
    now: datetime
    live_drops: list[LiveDrop] = field(default_factory=list)
    upcoming_drops: list[Product] = field(default_factory=list)
    live_auctions: list[LiveAuction] = field(default_factory=list)
    upcoming_auctions: list[tuple[Auction, str]] = field(default_factory=list)
    units: Units = field(default_factory=Units)
    today: Money = field(default_factory=Money)
    month: Money = field(default_factory=Money)
    balance: int = 0
    refunds_waiting: int = 0

    @property
    def channels(self) -> list[str]:
        """The channels whose messages may change what the dashboard shows."""
        products = [d.product.id for d in self.live_drops] + [p.id for p in self.upcoming_drops]
        auctions = [a.auction.id for a in self.live_auctions] + [a.id for a, _ in self.upcoming_auctions]
        return [
            seller_channel(self.seller_id),
            *(channel_for(i) for i in products),
            *(auction_channel(i) for i in auctions),
        ]

    @property
    def subjects(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The live drops and auctions shown with a chart (a change means a new layout)."""
        return tuple(d.product.id for d in self.live_drops), tuple(a.auction.id for a in self.live_auctions)


async def _products(db: AsyncSession, seller_id: int, statuses: tuple[ProductStatus, ...]) -> list[Product]:
    stmt = (
        select(Product)
        .options(lazyload(Product.images))
        .where(Product.seller_id == seller_id, Product.status.in_(statuses))
        .order_by(Product.sale_starts_at, Product.id)
        .limit(LIVE_LIMIT if statuses == LIVE_DROP else UPCOMING_LIMIT)
    )
    return list((await db.execute(stmt)).scalars())


async def _auctions(db: AsyncSession, seller_id: int, status: AuctionStatus) -> list[tuple[Auction, str]]:
    stmt = (
        select(Auction, Product.name)
        .join(Product, Product.id == Auction.product_id)
        .where(Auction.seller_id == seller_id, Auction.status == status)
        .order_by(Auction.ends_at if status is AuctionStatus.LIVE else Auction.starts_at, Auction.id)
        .limit(LIVE_LIMIT if status is AuctionStatus.LIVE else UPCOMING_LIMIT)
    )
    return [(auction, name) for auction, name in (await db.execute(stmt)).all()]


async def unit_counts(db: AsyncSession, seller_id: int, product_ids: list[int]) -> tuple[Units, dict[int, Units]]:
    """The units of all the seller's drops, and of each of ``product_ids``."""
    total, each = Units(), defaultdict[int, Units](Units)
    of_seller = select(Product.id).where(Product.seller_id == seller_id).scalar_subquery()
    rights = (
        select(PurchaseRight.product_id, PurchaseRight.status, func.count())
        .where(PurchaseRight.product_id.in_(of_seller))
        .group_by(PurchaseRight.product_id, PurchaseRight.status)
    )
    wanted = set(product_ids)
    for product_id, status, count in (await db.execute(rights)).all():
        for units in (total, each[product_id]) if product_id in wanted else (total,):
            units.taken += count
            if status is RightStatus.HELD:
                units.held += count
            elif status is RightStatus.PAID:
                units.paid += count
    returns = (
        select(StockEntry.product_id, func.sum(StockEntry.delta))
        .where(StockEntry.product_id.in_(of_seller), StockEntry.reason.in_(RETURNS), StockEntry.delta > 0)
        .group_by(StockEntry.product_id)
    )
    for product_id, returned in (await db.execute(returns)).all():
        total.returned += int(returned or 0)
        if product_id in wanted:
            each[product_id].returned += int(returned or 0)
    return total, dict(each)


def _local_starts(now: datetime) -> tuple[datetime, datetime]:
    """The start of today and of this month in the viewer's zone, as UTC."""
    zone = current_zone()
    local = now.astimezone(zone)
    day = datetime.combine(local.date(), time(), tzinfo=zone)
    month = datetime.combine(local.date().replace(day=1), time(), tzinfo=zone)
    return day.astimezone(UTC), month.astimezone(UTC)


async def money(db: AsyncSession, seller_id: int, now: datetime) -> tuple[Money, Money]:
    """Sales less refunds (gross), the shop's fees and what the seller keeps (net), today and this
    month, from the settlement ledger."""
    day_start, month_start = _local_starts(now)
    today = SettlementEntry.created_at >= day_start

    def both(column: Any) -> tuple[Any, Any]:
        return func.coalesce(func.sum(case((today, column), else_=0)), 0), func.coalesce(func.sum(column), 0)

    columns = [*both(SettlementEntry.gross), *both(SettlementEntry.fee), *both(SettlementEntry.net)]
    stmt = select(*columns).where(SettlementEntry.seller_id == seller_id, SettlementEntry.created_at >= month_start)
    gross_day, gross_month, fee_day, fee_month, net_day, net_month = (int(v) for v in (await db.execute(stmt)).one())
    return Money(gross_day, fee_day, net_day), Money(gross_month, fee_month, net_month)


async def refunds_waiting(db: AsyncSession, seller_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Refund)
        .join(Order, Order.id == Refund.order_id)
        .where(Order.seller_id == seller_id, Refund.status == RefundStatus.REQUESTED)
    )
    return int(await db.scalar(stmt) or 0)


async def dashboard(db: AsyncSession, seller_id: int, now: datetime) -> Dashboard:
    """Everything the dashboard shows, as it stands at ``now``."""
    board = Dashboard(seller_id, now)
    live = await _products(db, seller_id, LIVE_DROP)
    board.upcoming_drops = await _products(db, seller_id, (ProductStatus.SCHEDULED,))
    auctions = await _auctions(db, seller_id, AuctionStatus.LIVE)
    board.upcoming_auctions = await _auctions(db, seller_id, AuctionStatus.SCHEDULED)
    board.units, each = await unit_counts(db, seller_id, [p.id for p in live])
    charts = await sell_through_charts(db, live, now)
    board.live_drops = [LiveDrop(p, each.get(p.id, Units()), charts[p.id]) for p in live]
    bids = await bid_charts(db, [a for a, _ in auctions], now)
    board.live_auctions = [LiveAuction(a, name, bids[a.id]) for a, name in auctions]
    board.today, board.month = await money(db, seller_id, now)
    board.balance = await balance(db, seller_id)
    board.refunds_waiting = await refunds_waiting(db, seller_id)
    return board
