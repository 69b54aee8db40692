"""Write an event in the same transaction as the change that caused it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.events import OutboxEvent

# Set on the session when it wrote events, so the request edge can wake the relay after commit.
WROTE_EVENTS = "smore_wrote_events"


async def record_event(
    db: AsyncSession, topic: str, aggregate_type: str, aggregate_id: int, **payload: Any
) -> OutboxEvent:
    """Events carry ids, not state: consumers reload what they need."""
    event = add_event(db, topic, aggregate_type, aggregate_id, **payload)
    await db.flush()
    return event


def add_event(db: AsyncSession, topic: str, aggregate_type: str, aggregate_id: int, **payload: Any) -> OutboxEvent:
    """``record_event`` without the flush, for a caller that writes many rows in one flush."""
    event = OutboxEvent(
        id=uuid.uuid4().hex,
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
    )
    db.add(event)
    db.info[WROTE_EVENTS] = True
    return event
