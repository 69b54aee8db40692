"""Deliver outbox events to their handlers (each runs once per event id), and prune handled ones."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.events.dispatch import dispatch
from app.events.pruning import prune_events
from app.events.topics import Topic
from app.models.base import utcnow
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)

# Topics a catalogue import sends by the hundred (a product's details, for search and its page).
# Their events travel in a queue of their own, taken after the others, so a sale's opening, a
# payment or an auction's close never waits behind an import's backlog.
BULK_TOPICS = frozenset({Topic.PRODUCT_CHANGED.value})
RETRIES = {"max_retries": 12, "min_backoff": 500, "max_backoff": 300_000}


@actor(queue_name="events", **RETRIES)
async def handle_event(event_id: str, topic: str) -> None:
    await dispatch(runtime.database(), event_id)


@actor(queue_name="bulk_events", priority=10, **RETRIES)
async def handle_bulk_event(event_id: str, topic: str) -> None:
    await dispatch(runtime.database(), event_id)


EVENT_ACTORS = (handle_event.actor_name, handle_bulk_event.actor_name)


def enqueue_event(event_id: str, topic: str) -> None:
    (handle_bulk_event if topic in BULK_TOPICS else handle_event).send(event_id, topic)


@actor(queue_name="events", max_retries=0)
async def prune_handled_events() -> None:
    """Periodic: delete events handled longer ago than ``EVENT_RETENTION_HOURS``, with their rows."""
    retention = timedelta(hours=runtime.settings().event_retention_hours)
    pruned = await prune_events(runtime.database(), utcnow(), retention)
    log.log(logging.INFO if pruned.total else logging.DEBUG, "pruned handled events: %s", pruned)
