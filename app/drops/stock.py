"""Units coming back and rights being settled: expiry, cancellation, payment failure, payment.
Every change of stock writes a ledger row with a unique key, so a redelivered event never
writes twice, and never touches a sale that has ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.catalog.transitions import StaleTransition, transition
from app.db import after_commit, database_of
from app.drops.gate import StockChange, gate_for
from app.drops.rules import RIGHT_STATUS
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason

# Stock may move only while the fixed-price sale is running (or paused by moderation).
STOCK_OPEN = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING, ProductStatus.HIDDEN)


def tell_gate(db: AsyncSession, change: StockChange) -> None:
    """Once this transaction has committed, the gate's copy of the stock takes the change (a gate
    that does not answer is caught up by the periodic rebuild)."""
    database = database_of(db)
    if database is None:
        return
    settings = database.settings
    after_commit(db, lambda: _apply(settings, change))


async def _apply(settings: object, change: StockChange) -> None:
    await gate_for(settings).apply(change)


async def write_ledger(
    db: AsyncSession,
    product_id: int,
    delta: int,
    reason: StockReason,
    unique_key: str,
    *,
    reference: str | None = None,
    actor_id: int | None = None,
) -> bool:
    """Append one row; False when a row with this key exists already (a redelivery)."""
    try:
        async with db.begin_nested():
            db.add(ledger_entry(product_id, delta, reason, unique_key, reference=reference, actor_id=actor_id))
            await db.flush()
    except IntegrityError:
        return False
    return True


def ledger_entry(
    product_id: int,
    delta: int,
    reason: StockReason,
    unique_key: str,
    *,
    reference: str | None = None,
    actor_id: int | None = None,
) -> StockEntry:
    """A ledger row to add, for a caller whose key cannot exist yet (a unit taken by a new right)."""
    return StockEntry(
        product_id=product_id, delta=delta, reason=reason, unique_key=unique_key, reference=reference, actor_id=actor_id
    )


async def ledger_sum(db: AsyncSession, product_id: int) -> int:
    return int(
        await db.scalar(select(func.coalesce(func.sum(StockEntry.delta), 0)).where(StockEntry.product_id == product_id))
    )


async def open_stock(db: AsyncSession, product: Product) -> None:
    """The fixed-price units go on sale: the ledger's first row."""
    await write_ledger(
        db,
        product.id,
        product.fixed_quantity - product.taken_quantity,
        StockReason.LISTING,
        f"listing:product:{product.id}",
    )


publishes(Topic.RIGHT_PAID, Topic.RIGHT_EXPIRED, Topic.RIGHT_CANCELLED)  # move_right: drop.right_{target}


async def move_right(
    db: AsyncSession, right_id: int, target: RightStatus, *, reason: str, now: datetime | None = None
) -> PurchaseRight | None:
    """HELD → target with a conditional update; None when the right is not held any more."""
    now = now or utcnow()
    RIGHT_STATUS.check(RightStatus.HELD, target)
    conditions = [PurchaseRight.id == right_id, PurchaseRight.status == RightStatus.HELD]
    if target is RightStatus.EXPIRED:
        conditions.append(PurchaseRight.expires_at <= now)
    result = await db.execute(
        update(PurchaseRight)
        .where(*conditions)
        .values(status=target, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    db.add(PurchaseRightChange(right_id=right_id, from_status=RightStatus.HELD, to_status=target, reason=reason))
    right = await db.get(PurchaseRight, right_id, populate_existing=True)
    assert right is not None
    await record_event(db, Topic(f"drop.right_{target.value}"), "purchase_right", right_id, product_id=right.product_id)
    return right


async def return_unit(
    db: AsyncSession, right: PurchaseRight, reason: StockReason, *, actor_id: int | None = None
) -> bool:
    """Give the right's unit back to the sale, if the sale still runs; back on sale if it had sold out."""
    row = (
        await db.execute(
            update(Product)
            .where(Product.id == right.product_id, Product.taken_quantity > 0, Product.status.in_(STOCK_OPEN))
            .values(taken_quantity=Product.taken_quantity - 1, stock_version=Product.stock_version + 1)
            .returning(Product.status, Product.hidden_from, Product.stock_version)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        return False
    tell_gate(db, StockChange(right.product_id, row.stock_version, +1, {right.member_id: -1}))
    await write_ledger(
        db,
        right.product_id,
        +1,
        reason,
        f"{reason.value}:right:{right.id}",
        reference=f"right:{right.id}",
        actor_id=actor_id,
    )
    product = await db.get(Product, right.product_id, populate_existing=True)
    assert product is not None
    if product.status is ProductStatus.CONVERSION_PENDING:
        try:
            await transition(db, product, ProductStatus.ON_SALE, reason="a unit came back")
        except StaleTransition:
            pass
    elif product.status is ProductStatus.HIDDEN and product.hidden_from is ProductStatus.CONVERSION_PENDING:
        product.hidden_from = ProductStatus.ON_SALE  # unhiding returns to a sale with a unit to sell
    return True


async def release_right(
    db: AsyncSession,
    right_id: int,
    target: RightStatus,
    reason: StockReason,
    now: datetime | None = None,
    *,
    actor_id: int | None = None,
) -> PurchaseRight | None:
    """Expire or cancel a held right and return its unit. Idempotent: None if already settled.
    ``actor_id``: the member who gave it up (None for the system: expiry, failed payment)."""
    right = await move_right(db, right_id, target, reason=reason.value, now=now)
    if right is not None:
        await return_unit(db, right, reason, actor_id=actor_id)
    return right


async def pay_right(db: AsyncSession, right_id: int, now: datetime | None = None) -> PurchaseRight | None:
    """A held right is paid. When every fixed-price unit of a sold-out sale is paid, the product
    converts: to a live auction for the remaining units, or ends when none remain."""
    right = await move_right(db, right_id, RightStatus.PAID, reason="paid", now=now)
    if right is None:
        return None
    await convert_if_paid(db, right.product_id)
    return right


async def convert_if_paid(db: AsyncSession, product_id: int) -> bool:
    product = await db.get(Product, product_id, with_for_update=True, populate_existing=True)
    if product is None or product.status is not ProductStatus.CONVERSION_PENDING:
        return False
    held = await db.scalar(
        select(func.count())
        .select_from(PurchaseRight)
        .where(PurchaseRight.product_id == product_id, PurchaseRight.status == RightStatus.HELD)
    )
    if held or product.taken_quantity < product.fixed_quantity:
        return False
    target = lifecycle.after_fixed_units_paid(product.total_quantity, product.fixed_quantity)
    try:
        await transition(db, product, target, reason="every fixed-price unit is paid")
    except StaleTransition:
        return False
    return True


async def due_rights(db: AsyncSession, now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or utcnow()
    stmt = (
        select(PurchaseRight.id)
        .where(PurchaseRight.status == RightStatus.HELD, PurchaseRight.expires_at <= now)
        .order_by(PurchaseRight.expires_at)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())
