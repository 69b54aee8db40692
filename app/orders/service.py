"""Orders: created from a purchase right or an auction win (once, however often the event arrives), moved only
through the status core (conditional update, history row, ``order.{status}`` event)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.core.status import Aggregate, created, move, own_history, register
from app.db import add_once
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.catalog import Product
from app.models.drops import PurchaseRight, RightStatus
from app.models.orders import Order, OrderChange, OrderSource, OrderStatus
from app.orders.rules import ORDER_STATUS

publishes(Topic.ORDER_CREATED)

ORDER = register(
    Aggregate(
        "order",
        Order,
        ORDER_STATUS,
        own_history(OrderChange.order_id),
        values=lambda m: {"paid_at": m.now} if m.target is OrderStatus.PAID else {},
    )
)


async def order_for_right(db: AsyncSession, right_id: int) -> Order | None:
    """The order of a purchase right, created on first call (idempotent; safe when two callers
    race: the unique right id lets one insert win and the other read it)."""
    if (existing := await _by_right(db, right_id)) is not None:
        return existing
    right = await db.get(PurchaseRight, right_id)
    if right is None:
        raise NotFound(_("This purchase right does not exist."))
    if right.status is not RightStatus.HELD:
        return None  # expired or given up before an order was made: nothing to pay
    seller_id = await db.scalar(select(Product.seller_id).where(Product.id == right.product_id))
    if seller_id is None:
        raise NotFound(_("This purchase right's product does not exist."))
    order = new_order(
        member_id=right.member_id,
        seller_id=seller_id,
        product_id=right.product_id,
        source=OrderSource.DROP,
        unit_price=right.unit_price,
        pay_by=right.expires_at,
        right_id=right.id,
    )
    if not await add_once(db, order):  # another handler made the right's order first
        found = await _by_right(db, right_id)
        if found is None:
            raise RuntimeError(f"the order of right {right_id} clashed with another row")
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
    created(db, order, reason=reason)
    await record_event(db, Topic.ORDER_CREATED, "order", order.id, **payload)
    await move(db, order, OrderStatus.AWAITING_PAYMENT, reason="waiting for payment")


async def _by_right(db: AsyncSession, right_id: int) -> Order | None:
    return (await db.execute(select(Order).where(Order.right_id == right_id))).scalar_one_or_none()


async def member_order(db: AsyncSession, order_id: int, member_id: int) -> Order:
    """A member's own order; anyone else's is "not found" (never "forbidden": ids are not secrets
    we confirm)."""
    order = await db.get(Order, order_id)
    if order is None or order.member_id != member_id:
        raise NotFound(_("This order does not exist."))
    return order


async def timeline(db: AsyncSession, order_id: int) -> list[OrderChange]:
    return list(
        (
            await db.execute(select(OrderChange).where(OrderChange.order_id == order_id).order_by(OrderChange.id))
        ).scalars()
    )
