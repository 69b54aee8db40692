"""How orders react to events (each handler runs once per event id): a granted right gets its
order; a right whose unit went back (expired, given up) has its unpaid order cancelled."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.status import move, try_move
from app.events.handlers import on
from app.events.topics import Topic
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentStatus
from app.orders.rules import PAYABLE
from app.orders.service import order_for_right


@on(Topic.RIGHT_GRANTED, name="orders.create_from_right")
async def create_order(db: AsyncSession, event: OutboxEvent) -> None:
    await order_for_right(db, event.aggregate_id)


@on(Topic.RIGHT_EXPIRED, Topic.RIGHT_CANCELLED, name="orders.follow_right")
async def cancel_unpaid_order(db: AsyncSession, event: OutboxEvent) -> None:
    """The right's unit went back (deadline passed, or given up): its order is cancelled and any
    checkout not yet confirmed is called off. A payment being confirmed right now finishes on
    its own and is refunded in full if the gateway charged."""
    order = (await db.execute(select(Order).where(Order.right_id == event.aggregate_id))).scalar_one_or_none()
    if order is None or order.status not in PAYABLE:
        return
    reason = "not paid by the deadline" if event.topic == Topic.RIGHT_EXPIRED else "given up by the member"
    await move(db, order, OrderStatus.CANCELLED, reason=reason)
    ready = (
        await db.execute(select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.READY))
    ).scalars()
    for payment in list(ready):
        await try_move(db, payment, PaymentStatus.CANCELLED, reason=f"order {reason}")
