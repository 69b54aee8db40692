"""Orders: created from a purchase right or an auction win (once, however often the event arrives), moved only
through ``move_order`` (conditional update, history row, outbox event)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.core.errors import DomainError, NotFound
from app.events.outbox import record_event
from app.events.topics import Topic, publishes, status_topic
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.drops import PurchaseRight, RightStatus
from app.models.orders import Order, OrderChange, OrderSource, OrderStatus
from app.orders.rules import ORDER_STATUS

ORDER_CREATED = Topic.ORDER_CREATED
publishes(ORDER_CREATED)


class StaleOrder(DomainError):
    """The order moved meanwhile (another request or a worker got there first)."""


publishes(*(status_topic("order", s) for s in OrderStatus if s is not OrderStatus.CREATED))  # move_order


async def move_order(db: AsyncSession, order: Order, target: OrderStatus, *, reason: str) -> OrderChange:
    """The only way an order's status changes."""
    current = order.status
    ORDER_STATUS.check(current, target)
    values: dict[str, object] = {"status": target}
    if target is OrderStatus.PAID:
        values["paid_at"] = utcnow()
    result = await db.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleOrder("This order changed meanwhile; reload the page.")
    for key, value in values.items():
        set_committed_value(order, key, value)
    change = OrderChange(order_id=order.id, from_status=current, to_status=target, reason=reason)
    db.add(change)
    await record_event(db, status_topic("order", target), "order", order.id, from_status=current.value)
    return change


async def order_for_right(db: AsyncSession, right_id: int) -> Order | None:
    """The order of a purchase right, created on first call (idempotent; safe when two callers
    race: the unique right id lets one insert win and the other read it)."""
    if (existing := await _by_right(db, right_id)) is not None:
        return existing
    right = await db.get(PurchaseRight, right_id)
    if right is None:
        raise NotFound("This purchase right does not exist.")
    if right.status is not RightStatus.HELD:
        return None  # expired or given up before an order was made: nothing to pay
    seller_id = await db.scalar(select(Product.seller_id).where(Product.id == right.product_id))
    order = new_order(
        member_id=right.member_id,
        seller_id=seller_id,
        product_id=right.product_id,
        source=OrderSource.DROP,
        unit_price=right.unit_price,
        pay_by=right.expires_at,
        right_id=right.id,
    )
    try:
        async with db.begin_nested():
            db.add(order)
            await db.flush()
    except IntegrityError:
        found = await _by_right(db, right_id)
        if found is None:
            raise
        return found
    await open_order(db, order, reason="purchase right", right_id=right.id)
    return order


def new_order(
    *,
    member_id: int,
    seller_id: int,
    product_id: int,
    source: OrderSource,
    unit_price: int,
    pay_by: datetime,
    right_id: int | None = None,
) -> Order:
    """An order for one unit, not yet written."""
    return Order(
        member_id=member_id,
        seller_id=seller_id,
        product_id=product_id,
        source=source,
        right_id=right_id,
        quantity=1,
        unit_price=unit_price,
        amount=unit_price,
        status=OrderStatus.CREATED,
        pay_by=pay_by,
    )


async def open_order(db: AsyncSession, order: Order, *, reason: str, **payload: object) -> None:
    """A flushed new order: its first history row and event, then waiting for payment."""
    db.add(OrderChange(order_id=order.id, from_status=None, to_status=OrderStatus.CREATED, reason=reason))
    await record_event(db, ORDER_CREATED, "order", order.id, **payload)
    await move_order(db, order, OrderStatus.AWAITING_PAYMENT, reason="waiting for payment")


async def _by_right(db: AsyncSession, right_id: int) -> Order | None:
    return (await db.execute(select(Order).where(Order.right_id == right_id))).scalar_one_or_none()


async def member_order(db: AsyncSession, order_id: int, member_id: int) -> Order:
    """A member's own order; anyone else's is "not found" (never "forbidden": ids are not secrets
    we confirm)."""
    order = await db.get(Order, order_id)
    if order is None or order.member_id != member_id:
        raise NotFound("This order does not exist.")
    return order


async def timeline(db: AsyncSession, order_id: int) -> list[OrderChange]:
    return list(
        (
            await db.execute(select(OrderChange).where(OrderChange.order_id == order_id).order_by(OrderChange.id))
        ).scalars()
    )
