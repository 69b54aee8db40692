"""The product's status moves: its description for the status core (the lifecycle table, the
history row, ``product.status_changed`` with from and to, what hiding writes), and the moves the
catalog makes itself (a scheduled sale opening, the conversion of a sold-out sale).

A product that goes live as an auction gets its auction in the same transaction as the move: the
product page links to the auction the moment the move commits, so the auction must exist by then
(an event handler opening it a moment later would leave that link answering "not found")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog import lifecycle
from app.core.status import Aggregate, Move, due, move, one_topic, own_history, register, try_move
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, ProductStatusChange
from app.models.members import Member

publishes(Topic.PRODUCT_CHANGED)


def _guard(step: Move[ProductStatus]) -> None:
    assert step.source is not None
    lifecycle.check_move(step.source, step.target, step.entity.hidden_from)


def _values(step: Move[ProductStatus]) -> Mapping[str, object]:
    """Hiding remembers where unhiding returns to, and why; unhiding forgets it."""
    if step.target is ProductStatus.HIDDEN:
        return {"hidden_from": step.source, "hidden_reason": step.reason}
    if step.source is ProductStatus.HIDDEN:
        return {"hidden_from": None}
    return {}


PRODUCT = register(
    Aggregate(
        "product",
        Product,
        lifecycle.PRODUCT_STATUS,
        own_history(ProductStatusChange.product_id),
        one_topic(Topic.PRODUCT_STATUS_CHANGED),
        values=_values,
        guard=_guard,
    )
)


async def transition(
    db: AsyncSession, product: Product, target: ProductStatus, *, actor: Member | None = None, reason: str | None = None
) -> ProductStatusChange:
    """A product's move through the status core (``StaleStatus`` when it moved meanwhile)."""
    change: ProductStatusChange = await move(db, product, target, actor=actor, reason=reason)
    if target is ProductStatus.AUCTION_LIVE:
        await open_auction(db, product)
    return change


async def open_auction(db: AsyncSession, product: Product) -> None:
    """The auction of a product that has just moved to ``auction_live``, opened in the same
    transaction (once: a product has one auction)."""
    from app.auctions.service import open_for_product  # the auctions build on the catalog

    await open_for_product(db, product.id)


async def convert_sold_out(db: AsyncSession, product: Product, *, reason: str) -> bool:
    """A sold-out fixed-price sale whose taken units are all paid converts: to a live auction for
    the remaining units (opened with the move), or ended when none remain. False when it had
    moved meanwhile."""
    target = lifecycle.after_fixed_units_paid(product.total_quantity, product.fixed_quantity)
    if not await try_move(db, product, target, reason=reason):
        return False
    if target is ProductStatus.AUCTION_LIVE:
        await open_auction(db, product)
    return True


def set_committed(product: Product, key: str, value: object) -> None:
    """Reflect a value already written by UPDATE without marking the object dirty."""
    set_committed_value(product, key, value)


async def product_changed(db: AsyncSession, product: Product) -> None:
    """Tell the other parts (search, live pages) that a product's details changed."""
    await record_event(db, Topic.PRODUCT_CHANGED, "product", product.id)


async def open_due_sale(db: AsyncSession, product_id: int, now: datetime | None = None) -> bool:
    """Scheduled → on sale once its start time has come (an auction-only listing: straight to its
    live auction). Idempotent: False when nothing to do."""
    now = now or utcnow()
    product = await db.get(Product, product_id)
    if product is None or not lifecycle.should_open(product.status, product.sale_starts_at, now):
        return False
    target = lifecycle.opening_status(product.fixed_quantity)
    if not await try_move(db, product, target, reason="sale start time reached"):
        return False
    if target is ProductStatus.AUCTION_LIVE:
        await open_auction(db, product)
        return True
    from app.drops.stock import open_stock

    await open_stock(db, product)
    return True


async def due_for_opening(db: AsyncSession, now: datetime | None = None, limit: int = 500) -> list[int]:
    return await due(db, ProductStatus.SCHEDULED, Product.sale_starts_at, now, limit)


async def history(db: AsyncSession, product_id: int) -> list[ProductStatusChange]:
    stmt = (
        select(ProductStatusChange)
        .where(ProductStatusChange.product_id == product_id)
        .order_by(ProductStatusChange.id.desc())
    )
    return list((await db.execute(stmt)).scalars())
