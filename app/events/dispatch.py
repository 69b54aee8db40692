"""Run the handlers of one event, each once: the inbox row and the handler's writes commit
together, so a redelivered event finds the row and skips the handler.

A handler that raises gets an ``event_failures`` row (attempts, last error), written in its own
short transaction. Until it is parked, ``dispatch`` raises so the queue retries with backoff; after
``PARK_AFTER`` failures the row is parked: later deliveries skip that handler and ``dispatch`` no
longer raises for it, until an administrator retries it (``/admin/events``). A success deletes the
row together with the handler's writes. One handler's failure never stops the others.

Once every handler of the event has run or is parked, the event is marked handled
(``handled_at``), in the transaction of the last handler that ran or right after: the relay stops
sending it again, a later delivery costs one read, and pruning may delete it."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime

from sqlalchemy import ColumnElement, Update, case, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.db import Database, commit, rollback
from app.events.handlers import Registered, handlers_for
from app.models.base import utcnow
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from app.observability.metrics import count_handler_failure, observe_handled_delay

log = logging.getLogger(__name__)

# Failures of one (event, handler) before it is parked; ``Settings.event_park_after`` overrides it.
# Keep it below the actor's ``max_retries`` so a failing handler is parked before the queue gives up.
PARK_AFTER = 5
ERROR_MAX_CHARS = 4000
TRACEBACK_FRAMES = 8


async def dispatch(database: Database, event_id: str) -> list[str]:
    """Returns the names of the handlers that ran now (not those that had run before or are parked).
    Raises the first error of a handler that failed and is not parked yet."""
    async with database.sessionmaker() as db:
        found = (
            await db.execute(select(OutboxEvent.topic, OutboxEvent.handled_at).where(OutboxEvent.id == event_id))
        ).one_or_none()
    if found is None:
        log.warning("event %s not found", event_id)
        return []
    topic, handled_at = found
    if handled_at is not None:  # a resend or a duplicate of an event already handled
        return []
    park_after = database.settings.event_park_after or PARK_AFTER
    ran: list[str] = []
    errors: list[BaseException] = []
    marked = False
    handlers = handlers_for(topic)
    for index, handler in enumerate(handlers):
        finish = index == len(handlers) - 1 and not errors
        try:
            # a span per handler, in the trace the event's message carried (an error is recorded on it)
            with database.tracer.start_as_current_span(
                f"{topic} → {handler.name}",
                attributes={
                    "smore.event.id": event_id,
                    "smore.event.topic": topic,
                    "smore.event.handler": handler.name,
                },
            ):
                if await _run_once(database, event_id, handler, finish=finish):
                    ran.append(handler.name)
                    marked = finish
        except Exception as exc:
            parked = await record_failure(database, event_id, handler.name, exc, park_after)
            count_handler_failure(handler.name, parked)
            if not parked:
                errors.append(exc)
    if errors:
        raise errors[0]
    if not marked:  # the last handler had run before, is parked, failed into parking, or there is none
        async with database.transaction() as db:
            sent_at = (await db.execute(mark_handled(event_id))).scalar_one_or_none()
        _handled(sent_at)
    return ran


def _handled(sent_at: datetime | None) -> None:
    """The event was marked handled now (``sent_at``: when the relay first sent it)."""
    if sent_at is not None:
        observe_handled_delay((utcnow() - sent_at).total_seconds())


def mark_handled(event_id: str) -> Update:
    """Every handler of the event has run or is parked: the relay stops sending it. Not while a
    failure is waiting for its retry (an administrator un-parked it after this delivery began).
    Returns the event's first send time when it marked it (read after the relay's commit: its row
    lock, or SQLite's one writer, orders the two)."""
    waiting = exists().where(EventFailure.event_id == event_id, EventFailure.parked_at.is_(None))
    return (
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.handled_at.is_(None), ~waiting)
        .values(handled_at=utcnow())
        .returning(OutboxEvent.published_at)
        .execution_options(synchronize_session=False)
    )


async def _run_once(database: Database, event_id: str, handler: Registered, *, finish: bool = False) -> bool:
    """Run ``handler`` unless it ran before or is parked; True when it ran now. With ``finish``, the
    event is marked handled in the same transaction as the handler's writes."""
    async with database.sessionmaker() as db:
        key = (InboxEntry.event_id == event_id, InboxEntry.handler == handler.name)
        if await db.scalar(select(InboxEntry.event_id).where(*key)):
            return False
        failure = _failure_key(event_id, handler.name)
        parked_at = (await db.execute(select(EventFailure.parked_at).where(*failure))).one_or_none()
        if parked_at is not None and parked_at[0] is not None:
            log.info("event %s: handler %s is parked; skipped", event_id, handler.name)
            return False
        event = await db.get(OutboxEvent, event_id)
        assert event is not None
        try:
            db.add(InboxEntry(event_id=event_id, handler=handler.name))
            await db.flush()
            await handler.fn(db, event)
            if parked_at is not None:  # it had failed before: the success clears the record
                await db.execute(delete(EventFailure).where(*failure))
            sent_at = (await db.execute(mark_handled(event_id))).scalar_one_or_none() if finish else None
            await commit(db)  # and then the effects the handler registered (the gate's copy, say)
            _handled(sent_at)
        except IntegrityError:
            await rollback(db)
            if await db.scalar(select(InboxEntry.event_id).where(*key)):
                return False  # a concurrent delivery of the same event won the inbox row
            raise
        except BaseException:
            await rollback(db)
            raise
    return True


async def record_failure(database: Database, event_id: str, handler: str, exc: BaseException, park_after: int) -> bool:
    """Count one failure of ``handler`` on the event in one atomic upsert; True when it is parked
    (now or already), False when the queue should retry."""
    now = utcnow()
    text = describe_error(exc)
    insert = pg_insert if database.backend == "postgresql" else sqlite_insert
    stmt = insert(EventFailure).values(
        event_id=event_id,
        handler=handler,
        attempts=1,
        last_error=text,
        last_failed_at=now,
        parked_at=now if park_after <= 1 else None,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[EventFailure.event_id, EventFailure.handler],
        set_={
            "attempts": EventFailure.attempts + 1,
            "last_error": stmt.excluded.last_error,
            "last_failed_at": stmt.excluded.last_failed_at,
            "parked_at": case((EventFailure.attempts + 1 >= park_after, now), else_=None),
        },
        where=EventFailure.parked_at.is_(None),
    ).returning(EventFailure.attempts, EventFailure.parked_at)
    async with database.transaction() as db:
        row = (await db.execute(upsert)).one_or_none()
    if row is None:  # parked by a concurrent delivery meanwhile
        return True
    attempts, parked_at = row
    if parked_at is not None:
        log.error("event %s: handler %s parked after %d failures", event_id, handler, attempts, exc_info=exc)
        return True
    log.warning("event %s: handler %s failed (attempt %d of %d)", event_id, handler, attempts, park_after, exc_info=exc)
    return False


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on the first line, then the last frames of the traceback, trimmed."""
    message = str(exc).strip()
    head = f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__
    frames = "".join(traceback.format_tb(exc.__traceback__, limit=-TRACEBACK_FRAMES))
    text = f"{head}\n{frames}".rstrip()
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


def _failure_key(event_id: str, handler: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return EventFailure.event_id == event_id, EventFailure.handler == handler
