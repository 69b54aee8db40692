"""How the drop engine reacts to events: a granted right gets its expiry scheduled; a sale that
opens or changes state gets its gate rebuilt and its viewers told."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.drops.service import RIGHT_GRANTED
from app.events.handlers import on
from app.events.topics import Topic
from app.live import hub
from app.models.drops import PurchaseRight, RightStatus
from app.models.events import OutboxEvent


@on(RIGHT_GRANTED, name="drops.schedule_expiry")
async def schedule_expiry_at_deadline(db: AsyncSession, event: OutboxEvent) -> None:
    right = await db.get(PurchaseRight, event.aggregate_id)
    if right is None or right.status is not RightStatus.HELD:
        return
    from tasks.drops import schedule_expiry

    schedule_expiry(right.id, right.expires_at)


@on(Topic.PRODUCT_STATUS_CHANGED, name="drops.follow_product_state")
async def follow_product_state(db: AsyncSession, event: OutboxEvent) -> None:
    from tasks.drops import refresh_gate

    await refresh_gate(event.aggregate_id)
    hub.touch(event.aggregate_id)
