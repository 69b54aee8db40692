"""Run the handlers of one event, each once: the inbox row and the handler's writes commit
together, so a redelivered event finds the row and skips the handler."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.events.handlers import handlers_for
from app.models.events import InboxEntry, OutboxEvent

log = logging.getLogger(__name__)


async def dispatch(database: Database, event_id: str) -> list[str]:
    """Returns the names of the handlers that ran now (not those that had run before)."""
    async with database.transaction() as db:
        event = await db.get(OutboxEvent, event_id)
        if event is None:
            log.warning("event %s not found", event_id)
            return []
        topic = event.topic
    ran: list[str] = []
    for handler in handlers_for(topic):
        async with database.sessionmaker() as db:
            already = await db.scalar(
                select(InboxEntry.event_id).where(InboxEntry.event_id == event_id, InboxEntry.handler == handler.name)
            )
            if already:
                continue
            event = await db.get(OutboxEvent, event_id)
            assert event is not None
            try:
                db.add(InboxEntry(event_id=event_id, handler=handler.name))
                await db.flush()
                await handler.fn(db, event)
                await db.commit()
            except IntegrityError:
                # a concurrent delivery of the same event won the inbox row
                await db.rollback()
                continue
            except BaseException:
                await db.rollback()
                raise
            ran.append(handler.name)
    return ran
