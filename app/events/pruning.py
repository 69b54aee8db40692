"""Delete handled events after the retention, with the rows that exist only because of them.

An outbox event handled before the cutoff is deleted together with its inbox rows and its
``event_failures`` rows; nothing of an event that can still be delivered is touched (an inbox row
goes only with its own event). An event with a parked handler stays, with its failure, until an
administrator retries it at ``/admin/events``. Each batch is its own short transaction of a few
statements of at most ``batch`` events each, so pruning never holds locks for long; on PostgreSQL
concurrent runs skip each other's rows. A table of per-event rows is pruned with its events by
adding its ``event_id`` column to ``EVENT_ROWS``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models.drops import PressRefusal
from app.models.events import EventFailure, InboxEntry, OutboxEvent

log = logging.getLogger(__name__)

BATCH = 5000


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


# The event id column of every table whose rows belong to one outbox event.
EVENT_ROWS: tuple[Column[str], ...] = (_table(InboxEntry).c.event_id, _table(EventFailure).c.event_id)


@dataclass
class Pruned:
    """Rows deleted, by table."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        return ", ".join(f"{count} from {table}" for table, count in sorted(self.rows.items())) or "nothing"


def prunable(cutoff: datetime) -> ColumnElement[bool]:
    """Handled before ``cutoff`` and no handler parked (an administrator may still retry it)."""
    parked = exists().where(EventFailure.event_id == OutboxEvent.id, EventFailure.parked_at.is_not(None))
    return (OutboxEvent.handled_at < cutoff) & ~parked


async def prune_batch(db: AsyncSession, cutoff: datetime, batch: int = BATCH) -> Pruned:
    """Delete up to ``batch`` events handled before ``cutoff`` and their rows; flushes, never commits."""
    pruned = Pruned()
    chosen = select(OutboxEvent.id).where(prunable(cutoff)).order_by(OutboxEvent.handled_at).limit(batch)
    if db.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    ids = list((await db.execute(chosen)).scalars())
    if not ids:
        return pruned
    # By primary key (a list of ids, not a subquery, keeps PostgreSQL on the index), the condition
    # checked again: only events deleted here lose their rows.
    events = _table(OutboxEvent)
    stmt = delete(events).where(events.c.id.in_(ids), prunable(cutoff)).returning(events.c.id)
    deleted = list((await db.execute(stmt)).scalars())
    pruned.add(events.name, len(deleted))
    for column in EVENT_ROWS:
        count = 0
        if deleted:
            result: Any = await db.execute(delete(column.table).where(column.in_(deleted)))
            count = result.rowcount
        pruned.add(column.table.name, count)
    return pruned


async def prune_events(database: Database, now: datetime, retention: timedelta, batch: int = BATCH) -> Pruned:
    """Delete every event handled more than ``retention`` before ``now``, one batch per transaction;
    then the kept answers of refused Buy presses older than the retention (their keys are long gone
    from every page)."""
    cutoff = now - retention
    pruned = Pruned()
    while True:
        async with database.transaction() as db:
            step = await prune_batch(db, cutoff, batch)
        for table, count in step.rows.items():
            pruned.add(table, count)
        if step.rows.get(OutboxEvent.__tablename__, 0) < batch:
            break
    while True:
        async with database.transaction() as db:
            count = await prune_refusals(db, cutoff, batch)
        pruned.add(PressRefusal.__tablename__, count)
        if count < batch:
            return pruned


async def prune_refusals(db: AsyncSession, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete up to ``batch`` refusals made before ``cutoff``; flushes, never commits."""
    keys = list(
        (
            await db.execute(
                select(PressRefusal.key)
                .where(PressRefusal.created_at < cutoff)
                .order_by(PressRefusal.created_at)
                .limit(batch)
            )
        ).scalars()
    )
    if not keys:
        return 0
    result: Any = await db.execute(delete(PressRefusal).where(PressRefusal.key.in_(keys)))
    return int(result.rowcount)
