"""Units coming back and rights being settled: expiry, cancellation, payment failure, payment.
Every change of stock writes a ledger row with a unique key, so a redelivered event never
writes twice, and never touches a sale that has ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.transitions import convert_sold_out
from app.core.status import Aggregate, columns, due, own_history, register, try_move
from app.db import add_once, after_commit, database_of
from app.drops.gate import StockChange, gate_for
from app.drops.rules import RIGHT_STATUS
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason

# Stock may move only while the fixed-price sale is running (or paused by moderation).
STOCK_OPEN = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING, ProductStatus.HIDDEN)


RIGHT = register(
    Aggregate(
        "purchase_right",
        PurchaseRight,
        RIGHT_STATUS,
        own_history(PurchaseRightChange.right_id),
        topic=lambda status: Topic(f"drop.right_{status.value}"),
        values=lambda m: {"decided_at": m.now},
        payload=columns("product_id"),
    )
)


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


def ledger_entry(
    product_id: int, delta: int, reason: StockReason, reference: str | None = None, *, actor_id: int | None = None
) -> StockEntry:
    """One ledger row, keyed by its reason and the row it is for (``expiry:right:42``; the listing,
    for no other row, ``listing:product:7``): written with ``add_once``, a redelivered event writes
    nothing."""
    key = f"{reason.value}:{reference or f'product:{product_id}'}"
    return StockEntry(
        product_id=product_id, delta=delta, reason=reason, unique_key=key, reference=reference, actor_id=actor_id
    )


async def ledger_sum(db: AsyncSession, product_id: int) -> int:
    total = await db.scalar(
        select(func.coalesce(func.sum(StockEntry.delta), 0)).where(StockEntry.product_id == product_id)
    )
    return int(total or 0)


async def open_stock(db: AsyncSession, product: Product) -> None:
    """The fixed-price units go on sale: the ledger's first row."""
    await add_once(db, ledger_entry(product.id, product.fixed_quantity - product.taken_quantity, StockReason.LISTING))


async def _move_held(
    db: AsyncSession, right_id: int, target: RightStatus, *, reason: str, now: datetime | None = None
) -> PurchaseRight | None:
    """A held right moves to ``target`` (an expiry only once its deadline has passed); None when
    it is not held any more."""
    now = now or utcnow()
    right = await db.get(PurchaseRight, right_id, populate_existing=True)
    if right is None or right.status is not RightStatus.HELD:
        return None
    due = [PurchaseRight.expires_at <= now] if target is RightStatus.EXPIRED else []
    if not await try_move(db, right, target, reason=reason, where=due, now=now):
        return None
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
    await add_once(db, ledger_entry(right.product_id, +1, reason, f"right:{right.id}", actor_id=actor_id))
    product = await db.get(Product, right.product_id, populate_existing=True)
    assert product is not None
    if product.status is ProductStatus.CONVERSION_PENDING:
        await try_move(db, product, ProductStatus.ON_SALE, reason="a unit came back")
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
    """Expire or cancel a held right and return its unit (a draw's unit goes to the next entry in
    draw order first, when one is left). Idempotent: None if already settled. ``actor_id``: the
    member who gave it up (None for the system: expiry, failed payment)."""
    from app.drops.draw_making import pass_on  # the draw's cascade builds on the stock

    right = await _move_held(db, right_id, target, reason=reason.value, now=now)
    if right is not None and not await pass_on(db, right, reason, actor_id=actor_id):
        await return_unit(db, right, reason, actor_id=actor_id)
    return right


async def pay_right(db: AsyncSession, right_id: int, now: datetime | None = None) -> PurchaseRight | None:
    """A held right is paid. When every fixed-price unit of a sold-out sale is paid, the product
    converts: to a live auction for the remaining units, or ends when none remain."""
    right = await _move_held(db, right_id, RightStatus.PAID, reason="paid", now=now)
    if right is None:
        return None
    touch_after_commit(db, "product", right.product_id)  # the seller's live charts count it paid
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
    return await convert_sold_out(db, product, reason="every fixed-price unit is paid")


async def due_rights(db: AsyncSession, now: datetime | None = None, limit: int = 1000) -> list[int]:
    return await due(db, RightStatus.HELD, PurchaseRight.expires_at, now, limit)
