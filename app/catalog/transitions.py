"""The only code that changes a product's status: checks the table, moves the row with a
conditional update (so two workers cannot both make the same move), writes a history row and an
outbox event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog import lifecycle
from app.core.errors import DomainError
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, ProductStatusChange
from app.models.members import Member

STATUS_CHANGED = Topic.PRODUCT_STATUS_CHANGED
PRODUCT_CHANGED = Topic.PRODUCT_CHANGED
publishes(STATUS_CHANGED, PRODUCT_CHANGED)


class StaleTransition(DomainError):
    """Someone else moved the product first."""


async def transition(
    db: AsyncSession,
    product: Product,
    target: ProductStatus,
    *,
    actor: Member | None = None,
    reason: str | None = None,
) -> ProductStatusChange:
    current = product.status
    lifecycle.check_move(current, target, product.hidden_from)
    values: dict[str, object] = {"status": target, "updated_at": utcnow()}
    if target is ProductStatus.HIDDEN:
        values |= {"hidden_from": current, "hidden_reason": reason}
    elif current is ProductStatus.HIDDEN:
        values |= {"hidden_from": None}
    result = await db.execute(
        update(Product)
        .where(Product.id == product.id, Product.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleTransition("This product changed meanwhile; reload the page and try again.")
    for key, value in values.items():
        set_committed(product, key, value)
    change = ProductStatusChange(
        product_id=product.id,
        from_status=current,
        to_status=target,
        actor_id=actor.id if actor else None,
        reason=reason,
    )
    db.add(change)
    await record_event(db, STATUS_CHANGED, "product", product.id, from_status=current.value, to_status=target.value)
    return change


def set_committed(product: Product, key: str, value: object) -> None:
    """Reflect a value already written by UPDATE without marking the object dirty."""
    set_committed_value(product, key, value)


async def product_changed(db: AsyncSession, product: Product) -> None:
    """Tell the other parts (search, live pages) that a product's details changed."""
    await record_event(db, PRODUCT_CHANGED, "product", product.id)


async def open_due_sale(db: AsyncSession, product_id: int, now: datetime | None = None) -> bool:
    """Scheduled → on sale once its start time has come (an auction-only listing: straight to its
    live auction). Idempotent: False when nothing to do."""
    now = now or utcnow()
    product = await db.get(Product, product_id)
    if product is None or not lifecycle.should_open(product.status, product.sale_starts_at, now):
        return False
    target = lifecycle.opening_status(product.fixed_quantity)
    try:
        await transition(db, product, target, reason="sale start time reached")
    except StaleTransition:
        return False
    if target is ProductStatus.AUCTION_LIVE:
        return True
    from app.drops.stock import open_stock

    await open_stock(db, product)
    return True


async def due_for_opening(db: AsyncSession, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    stmt = (
        select(Product.id)
        .where(Product.status == ProductStatus.SCHEDULED, Product.sale_starts_at <= now)
        .order_by(Product.sale_starts_at)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def history(db: AsyncSession, product_id: int) -> list[ProductStatusChange]:
    stmt = (
        select(ProductStatusChange)
        .where(ProductStatusChange.product_id == product_id)
        .order_by(ProductStatusChange.id.desc())
    )
    return list((await db.execute(stmt)).scalars())
