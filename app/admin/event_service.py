"""Event handlers that keep failing, for administrators: list parked and still-failing ones, and
un-park one so the queue delivers its event again. It flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.results import rows_changed
from app.events.outbox import WROTE_EVENTS
from app.models.base import utcnow
from app.models.events import EventFailure, OutboxEvent
from app.web.pagination import Page, paginate

# Tabs of the list: parked (waiting for an admin) and failing (still retried by the queue).
TABS = ("parked", "failing")


@dataclass(frozen=True)
class FailureListing:
    page: Page[EventFailure]
    events: dict[str, OutboxEvent]


def failures_statement(tab: str) -> Select[EventFailure]:
    if tab == "parked":
        stmt = select(EventFailure).where(EventFailure.parked_at.is_not(None))
        newest: Any = EventFailure.parked_at.desc()
    else:
        stmt = select(EventFailure).where(EventFailure.parked_at.is_(None))
        newest = EventFailure.last_failed_at.desc()
    return stmt.order_by(newest, EventFailure.event_id, EventFailure.handler)


class EventFailureService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def listing(self, tab: str, page: int, size: int) -> FailureListing:
        """One page of failures in ``tab`` (see ``TABS``), newest first, with their events (topic, aggregate)."""
        result = await paginate(self.db, failures_statement(tab), page, size, {"tab": tab})
        ids = {failure.event_id for failure in result.items}
        events: list[OutboxEvent] = []
        if ids:
            events = list((await self.db.execute(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))).scalars())
        return FailureListing(result, {event.id: event for event in events})

    async def retry(self, event_id: str, handler: str) -> OutboxEvent:
        """Un-park one handler of an event (attempts back to 0) and make the event due again: the
        relay sends it once this commits (and again if that message is lost). Refuses a row that is
        not parked (any more); unknown rows are ``NotFound``."""
        stmt = (
            update(EventFailure)
            .where(
                EventFailure.event_id == event_id,
                EventFailure.handler == handler,
                EventFailure.parked_at.is_not(None),
            )
            .values(parked_at=None, attempts=0)
        )
        changed = rows_changed(await self.db.execute(stmt))
        failure = await self.db.get(EventFailure, (event_id, handler))
        event = await self.db.get(OutboxEvent, event_id)
        if failure is None or event is None:
            raise NotFound(_("This failed event does not exist."))
        if not changed:
            raise DomainError(
                _("%(handler)s on event %(event)s is not parked; nothing was changed.", handler=handler, event=event_id)
            )
        event.handled_at = None
        event.resend_at = utcnow()
        event.publish_attempts = 0
        await self.db.flush()
        self.db.info[WROTE_EVENTS] = True  # wakes the relay after the commit
        return event
