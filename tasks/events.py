"""Deliver outbox events to their handlers (each runs once per event id), and prune handled ones."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.events.dispatch import dispatch
from app.events.pruning import prune_events
from app.models.base import utcnow
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)


@actor(queue_name="events", max_retries=12, min_backoff=500, max_backoff=300_000)
async def handle_event(event_id: str, topic: str) -> None:
    await dispatch(runtime.database(), event_id)


def enqueue_event(event_id: str, topic: str) -> None:
    handle_event.send(event_id, topic)


@actor(queue_name="events", max_retries=0)
async def prune_handled_events() -> None:
    """Periodic: delete events handled longer ago than ``EVENT_RETENTION_HOURS``, with their rows."""
    retention = timedelta(hours=runtime.settings().event_retention_hours)
    pruned = await prune_events(runtime.database(), utcnow(), retention)
    log.log(logging.INFO if pruned.total else logging.DEBUG, "pruned handled events: %s", pruned)
