"""Move committed outbox rows onto the queue, and send again the ones not handled in time.

Several relays may run (one per web process): on PostgreSQL each takes its batch with ``FOR UPDATE
SKIP LOCKED``; a row sent twice is harmless because handlers run once per event id.

A broker may lose a message (a Redis restart or flush). An event sent but not handled
(``handled_at``, set by the dispatcher) is sent again at ``resend_at``: ``EVENT_RESEND_SECONDS``
after the first send, then twice as long after each further send, up to ``RESEND_MAX_SECONDS``, so a
handler that keeps failing is not flooded. An event whose handlers all ran or are parked is
handled and never sent again.

Each message is sent inside the trace the event was written in (its row's ``trace_context``): the
queue's middleware (``tasks/tracing.py``) puts that context into the message, so the handler's
span continues the trace of the request or job that caused the event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, select

from app.db import Database
from app.models.base import utcnow
from app.models.events import OutboxEvent
from app.observability.metrics import observe_relay_delay, outbox_backlog
from app.observability.tracing import continuing

log = logging.getLogger(__name__)

BATCH = 200
# The longest wait between two sends of an event not handled (unless EVENT_RESEND_SECONDS is longer).
RESEND_MAX_SECONDS = 3600.0


def resend_delay(base_seconds: float, attempts: int) -> timedelta:
    """How long after its ``attempts``-th send an event not handled is sent again."""
    doubled = base_seconds * 2.0 ** min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(doubled, max(base_seconds, RESEND_MAX_SECONDS)))


async def relay_once(database: Database, send: Callable[[str, str], None], now: datetime | None = None) -> int:
    """Publish one batch: new events first, then those due for a resend; returns how many were sent."""
    now = now or utcnow()
    base = database.settings.event_resend_seconds
    fresh = (
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None), OutboxEvent.handled_at.is_(None))
        .order_by(OutboxEvent.created_at, OutboxEvent.id)
    )
    due = (
        select(OutboxEvent)
        .where(OutboxEvent.handled_at.is_(None), OutboxEvent.resend_at <= now)
        .order_by(OutboxEvent.resend_at, OutboxEvent.id)
    )
    async with database.transaction() as db:
        sent = 0
        for stmt in (fresh, due):
            events = list((await db.execute(_locked(database, stmt.limit(BATCH - sent)))).scalars())
            if stmt is fresh:  # the oldest event waiting to be sent (none: no backlog)
                outbox_backlog((now - events[0].created_at).total_seconds() if events else 0.0)
            for event in events:
                try:
                    with continuing(event.trace_context):  # the message carries the event's trace on
                        send(event.id, event.topic)
                except Exception:
                    log.exception("could not enqueue event %s; it stays in the outbox", event.id)
                    return sent
                if event.published_at is None:
                    event.published_at = now
                    observe_relay_delay((now - event.created_at).total_seconds())
                else:
                    log.info("event %s not handled after %d sends; sent again", event.id, event.publish_attempts)
                event.publish_attempts += 1
                event.resend_at = now + resend_delay(base, event.publish_attempts)
                sent += 1
            if sent >= BATCH:
                break
    return sent


def _locked(database: Database, stmt: Select[OutboxEvent]) -> Select[OutboxEvent]:
    return stmt.with_for_update(skip_locked=True) if database.backend == "postgresql" else stmt
