"""``/admin/ops``'s numbers: each live drop's presses (the rows the database wrote over the last
minute and the Buy batches' telemetry), the rights held and expiring, the outbox backlog, the
queues' waiting messages by actor, the parked events and the processes alive with their streams
and database pools. Read only; every source that does not answer is shown as such, never a 500."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from app.admin.ops_heartbeats import Heartbeat, Heartbeats
from app.admin.ops_rules import (
    EXPIRING_SECONDS,
    RATE_SECONDS,
    WINDOW_SECONDS,
    DropCounts,
    DropRow,
    Summary,
    age_seconds,
    drop_row,
    summarise,
)
from app.core.scheduling import Queue, QueueLag
from app.drops.telemetry import DropTelemetry
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PressRefusal, PurchaseRight, RightStatus
from app.models.events import EventFailure, OutboxEvent

log = logging.getLogger(__name__)

# Live drops shown at most (the newest sales first).
MAX_DROPS = 20
# Messages read from the head of each queue for the actors' counts.
QUEUE_SAMPLE = 500
QUEUE_SECONDS = 2.0
LIVE_STATUSES = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING)


@dataclass(frozen=True)
class OpsSources:
    """What the page reads besides the database."""

    telemetry: DropTelemetry
    heartbeats: Heartbeats
    queue: Queue


@dataclass(frozen=True)
class OutboxHealth:
    unsent: int  # written, not sent to the queue yet
    oldest_unsent_at: datetime | None
    unhandled: int  # sent, not handled yet
    parked: int  # handlers parked for an admin
    failing: int  # handlers failing, not parked yet

    def oldest_age(self, now: datetime) -> int | None:
        return age_seconds(self.oldest_unsent_at, now)


@dataclass(frozen=True)
class OpsReport:
    now: datetime
    drops: list[DropRow]
    outbox: OutboxHealth
    queues: list[QueueLag] | None  # None: the broker did not answer
    queue_backend: str
    processes: list[Heartbeat] | None  # None: the heartbeats could not be read
    summary: Summary


async def live_drops(db: AsyncSession, now: datetime) -> list[DropCounts]:
    """The drops selling now or waiting for their last rights' payments, with their counts."""
    products = (
        await db.execute(
            select(Product.id, Product.name, Product.status, Product.fixed_quantity, Product.taken_quantity)
            .where(Product.status.in_(LIVE_STATUSES), Product.sale_starts_at <= now, Product.fixed_quantity > 0)
            .order_by(Product.sale_starts_at.desc(), Product.id.desc())
            .limit(MAX_DROPS)
        )
    ).all()
    ids = [p.id for p in products]
    if not ids:
        return []
    rights = await _right_counts(db, ids, now)
    refusals = await _refusal_counts(db, ids, now)
    held = await _held_counts(db, ids, now)
    drops = []
    for p in products:
        granted_recent, granted = rights.get(p.id, (0, 0))
        refused_recent, refused = refusals.get(p.id, (0, {}))
        holding, expiring = held.get(p.id, (0, 0))
        drops.append(
            DropCounts(
                p.id,
                p.name,
                p.status.value,
                p.fixed_quantity,
                p.taken_quantity,
                granted_recent=granted_recent,
                refused_recent=refused_recent,
                granted=granted,
                refused=refused,
                held=holding,
                expiring=expiring,
            )
        )
    return drops


def _recent(column: InstrumentedAttribute[datetime], since: datetime) -> ColumnElement[int]:
    """How many of the group's rows have ``column`` at ``since`` or later."""
    return func.coalesce(func.sum(case((column >= since, 1), else_=0)), 0)


async def _right_counts(db: AsyncSession, ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Rights written per product: (in the last RATE_SECONDS, in the last WINDOW_SECONDS)."""
    since = now - timedelta(seconds=WINDOW_SECONDS)
    recent = _recent(PurchaseRight.created_at, now - timedelta(seconds=RATE_SECONDS))
    rows = await db.execute(
        select(PurchaseRight.product_id, recent, func.count())
        .where(PurchaseRight.product_id.in_(ids), PurchaseRight.created_at >= since)
        .group_by(PurchaseRight.product_id)
    )
    return {product_id: (int(r), int(n)) for product_id, r, n in rows.all()}


async def _refusal_counts(db: AsyncSession, ids: list[int], now: datetime) -> dict[int, tuple[int, dict[str, int]]]:
    """Refusals kept per product: (in the last RATE_SECONDS, by outcome in the last WINDOW_SECONDS)."""
    since = now - timedelta(seconds=WINDOW_SECONDS)
    recent = _recent(PressRefusal.created_at, now - timedelta(seconds=RATE_SECONDS))
    rows = await db.execute(
        select(PressRefusal.product_id, PressRefusal.outcome, recent, func.count())
        .where(PressRefusal.product_id.in_(ids), PressRefusal.created_at >= since)
        .group_by(PressRefusal.product_id, PressRefusal.outcome)
    )
    counts: dict[int, tuple[int, dict[str, int]]] = {}
    for product_id, outcome, r, n in rows.all():
        total, by_outcome = counts.get(product_id, (0, {}))
        by_outcome[outcome] = int(n)
        counts[product_id] = (total + int(r), by_outcome)
    return counts


async def _held_counts(db: AsyncSession, ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Rights held per product now: (all, those whose deadline falls in the next EXPIRING_SECONDS)."""
    soon = now + timedelta(seconds=EXPIRING_SECONDS)
    expiring = func.coalesce(func.sum(case((PurchaseRight.expires_at <= soon, 1), else_=0)), 0)
    rows = await db.execute(
        select(PurchaseRight.product_id, func.count(), expiring)
        .where(PurchaseRight.product_id.in_(ids), PurchaseRight.status == RightStatus.HELD)
        .group_by(PurchaseRight.product_id)
    )
    return {product_id: (int(n), int(e)) for product_id, n, e in rows.all()}


async def outbox_health(db: AsyncSession) -> OutboxHealth:
    unsent = (
        await db.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(
                OutboxEvent.published_at.is_(None), OutboxEvent.handled_at.is_(None)
            )
        )
    ).one()
    unhandled = await db.scalar(
        select(func.count()).where(OutboxEvent.published_at.is_not(None), OutboxEvent.handled_at.is_(None))
    )
    parked = await db.scalar(select(func.count()).where(EventFailure.parked_at.is_not(None)))
    failing = await db.scalar(select(func.count()).where(EventFailure.parked_at.is_(None)))
    return OutboxHealth(int(unsent[0]), unsent[1], int(unhandled or 0), int(parked or 0), int(failing or 0))


async def _queues(queue: Queue) -> list[QueueLag] | None:
    try:
        return await asyncio.wait_for(asyncio.to_thread(queue.waiting, QUEUE_SAMPLE), timeout=QUEUE_SECONDS)
    except Exception:
        log.warning("could not read the queues' waiting messages", exc_info=True)
        return None


async def _processes(heartbeats: Heartbeats) -> list[Heartbeat] | None:
    try:
        return await heartbeats.alive()
    except Exception:
        log.warning("could not read the processes' heartbeats", exc_info=True)
        return None


async def ops_report(db: AsyncSession, sources: OpsSources, now: datetime | None = None) -> OpsReport:
    """Everything the page shows, read at ``now``."""
    now = now or utcnow()
    drops = await live_drops(db, now)
    outbox = await outbox_health(db)
    try:
        seconds = await sources.telemetry.window([d.product_id for d in drops], WINDOW_SECONDS, now)
    except Exception:
        log.warning("could not read the drop telemetry", exc_info=True)
        seconds = {}
    rows = [drop_row(d, seconds.get(d.product_id, [])) for d in drops]
    queues, processes = await asyncio.gather(_queues(sources.queue), _processes(sources.heartbeats))
    summary = summarise(rows, outbox.unsent, outbox.parked, len(processes or []))
    return OpsReport(now, rows, outbox, queues, sources.queue.backend, processes, summary)
