"""How payments react to events (each handler runs once per event id): a done payment or refund
gets its settlement entry; a reserved refund is sent to the gateway after its commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import scheduling
from app.events.handlers import on
from app.events.topics import Topic
from app.models.events import OutboxEvent
from app.payments.settlement import settle_payment, settle_refund


@on(Topic.PAYMENT_DONE, name="settlement.payment")
async def settle_done_payment(db: AsyncSession, event: OutboxEvent) -> None:
    await settle_payment(db, event.aggregate_id)


@on(Topic.REFUND_DONE, name="settlement.refund")
async def settle_done_refund(db: AsyncSession, event: OutboxEvent) -> None:
    await settle_refund(db, event.aggregate_id)


@on(Topic.REFUND_RESERVED, name="payments.send_refund")
async def send_refund(db: AsyncSession, event: OutboxEvent) -> None:
    scheduling.send_refund(db, event.aggregate_id)
