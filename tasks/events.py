"""Deliver outbox events to their handlers (each runs once per event id)."""

from __future__ import annotations

from app.events.dispatch import dispatch
from tasks import runtime
from tasks.broker import actor


@actor(queue_name="events", max_retries=12, min_backoff=500, max_backoff=300_000)
async def handle_event(event_id: str, topic: str) -> None:
    await dispatch(runtime.database(), event_id)


def enqueue_event(event_id: str, topic: str) -> None:
    handle_event.send(event_id, topic)
