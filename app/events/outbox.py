"""Write an event in the same transaction as the change that caused it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.results import rows_changed
from app.models.events import OutboxEvent
from app.observability.tracing import current_trace_context

# Set on the session when it wrote events, so the request edge can wake the relay after commit.
WROTE_EVENTS = "smore_wrote_events"


async def record_event(
    db: AsyncSession, topic: str, aggregate_type: str, aggregate_id: int, **payload: Any
) -> OutboxEvent:
    """Events carry ids, not state: consumers reload what they need."""
    event = add_event(db, topic, aggregate_type, aggregate_id, **payload)
    await db.flush()
    return event


def add_event(
    db: AsyncSession,
    topic: str,
    aggregate_type: str,
    aggregate_id: int,
    *,
    trace_context: Mapping[str, str] | None = None,
    **payload: Any,
) -> OutboxEvent:
    """``record_event`` without the flush, for a caller that writes many rows in one flush. The
    event keeps the trace context it was caused in: ``trace_context`` when given (a batch writing
    for many requests gives each its own; empty: none), else the current one."""
    carried = dict(trace_context) if trace_context is not None else current_trace_context()
    event = OutboxEvent(
        id=uuid.uuid4().hex,
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        trace_context=carried or None,
    )
    db.add(event)
    db.info[WROTE_EVENTS] = True
    return event


async def return_to_outbox(db: AsyncSession, event_ids: list[str]) -> int:
    """Mark events unsent again, so the relay sends them once more (their handlers run once per
    event id, so a handler that had run skips). For deliveries an in-memory broker still held when
    its process stopped."""
    if not event_ids:
        return 0
    result = await db.execute(update(OutboxEvent).where(OutboxEvent.id.in_(event_ids)).values(published_at=None))
    return rows_changed(result)
