"""How the drop engine reacts to events: a granted right gets its expiry scheduled; a sale that
opens or changes state gets its gate rebuilt and its viewers told."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import scheduling
from app.events.handlers import on, on_row
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.drops import PurchaseRight, RightStatus
from app.models.events import OutboxEvent


@on_row(Topic.RIGHT_GRANTED, PurchaseRight, name="drops.schedule_expiry", status=RightStatus.HELD)
async def schedule_expiry_at_deadline(db: AsyncSession, right: PurchaseRight) -> None:
    scheduling.expire_right_at(db, right.id, right.expires_at)


@on(Topic.PRODUCT_STATUS_CHANGED, name="drops.follow_product_state")
async def follow_product_state(db: AsyncSession, event: OutboxEvent) -> None:
    scheduling.refresh_gate(db, event.aggregate_id)
    touch_after_commit(db, "product", event.aggregate_id)
