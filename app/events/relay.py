"""Move committed outbox rows onto the queue. Several relays may run (one per web process): on
PostgreSQL each takes its batch with ``FOR UPDATE SKIP LOCKED``; a row sent twice is harmless
because handlers run once per event id."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from app.db import Database
from app.models.base import utcnow
from app.models.events import OutboxEvent

log = logging.getLogger(__name__)

BATCH = 200


async def relay_once(database: Database, send: Callable[[str, str], None]) -> int:
    """Publish one batch of unpublished events; returns how many were sent."""
    async with database.transaction() as db:
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(BATCH)
        )
        if database.backend == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        events = list((await db.execute(stmt)).scalars())
        sent = 0
        for event in events:
            event.publish_attempts += 1
            try:
                send(event.id, event.topic)
            except Exception:
                log.exception("could not enqueue event %s; it stays in the outbox", event.id)
                break
            event.published_at = utcnow()
            sent += 1
    return sent
