"""Deferred work the shop asks for, and the interface it asks through.

The app names each kind of later work (``Scheduler``); whoever builds the process (the web app's
composition root, the worker) supplies an implementation, so nothing under ``app/`` knows the
queue. A service or handler asks through its unit of work: ``expire_right_at(db, …)`` registers
the call on the session, and it happens once that session's transaction commits (never after a
rollback). The scheduler is the one of the ``Database`` the session belongs to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import after_commit, database_of


class Scheduler(Protocol):
    """One method per kind of deferred work. Each is called after the commit that asked for it."""

    def expire_right(self, right_id: int, at: datetime) -> None:
        """Expire the purchase right at ``at`` if it is still unpaid."""

    def open_sale(self, product_id: int, at: datetime) -> None:
        """Open the scheduled sale of the product at ``at``."""

    def close_auction(self, auction_id: int, at: datetime) -> None:
        """Close the auction at ``at`` (an early close finds the end moved and comes back)."""

    def make_draw(self, product_id: int, at: datetime) -> None:
        """Make the product's draw at ``at``, the end of its entry window (once; early, it comes back)."""

    def expire_offer(self, order_id: int, at: datetime) -> None:
        """Pass an auction offer on at its deadline ``at`` if it is still unpaid."""

    def send_refund(self, refund_id: int) -> None:
        """Send the reserved refund to the payment gateway (retried until it is settled)."""

    def enqueue_event(self, event_id: str, topic: str) -> None:
        """Deliver an outbox event to its handlers."""

    def send_mail(self, mail_id: int) -> None:
        """Send the queued mail through SMTP (retried until it is sent)."""

    def send_password_reset(self, email: str, language: str | None = None) -> None:
        """Mail a password reset link to the member with this email, if there is one (in
        ``language``, the asking page's, when the member chose none)."""

    async def refresh_gate(self, product_id: int) -> None:
        """Rebuild the gate's copy of the product's stock from the database."""


@dataclass(frozen=True)
class QueueLag:
    """Messages of one actor waiting in one queue: how many, and since when the oldest waits
    (its enqueue time, or the end of its delay). ``queued`` counts the whole queue's messages,
    ``delayed`` those whose delay has not ended yet (they are not late)."""

    queue: str
    actor: str
    waiting: int
    oldest_at: datetime | None
    queued: int
    delayed: int = 0


class Queue(Protocol):
    """The process's side of the queue, as the web app starts, checks, inspects and stops it."""

    backend: str

    def ping(self) -> bool: ...

    def waiting(self, sample: int) -> list[QueueLag]:
        """Each queue's waiting messages by actor, read from the first ``sample`` of each queue
        (blocking: call it in a thread)."""

    def start_worker(self) -> None: ...

    def stop(self) -> None: ...

    def unfinished_event_ids(self) -> list[str]: ...


@dataclass(frozen=True)
class Jobs:
    """What the web app is given to defer work with: the scheduler, the queue it sends to, and the
    periodic sweeps its background loop sends."""

    scheduler: Scheduler
    queue: Queue
    sweeps: Sequence[Callable[[], object]] = field(default_factory=tuple)


def scheduler_of(db: AsyncSession) -> Scheduler:
    """The scheduler of the unit of work ``db`` belongs to."""
    database = database_of(db)
    scheduler = database.scheduler if database is not None else None
    if scheduler is None:
        raise RuntimeError("this session's Database was built without a scheduler: deferred work cannot be asked for")
    return scheduler


def _later(db: AsyncSession, job: Callable[[Scheduler], object]) -> None:
    scheduler = scheduler_of(db)  # found now: a session without one fails where the work is asked for

    async def effect() -> None:
        job(scheduler)

    after_commit(db, effect)


def expire_right_at(db: AsyncSession, right_id: int, at: datetime) -> None:
    _later(db, lambda s: s.expire_right(right_id, at))


def open_sale_at(db: AsyncSession, product_id: int, at: datetime) -> None:
    _later(db, lambda s: s.open_sale(product_id, at))


def close_auction_at(db: AsyncSession, auction_id: int, at: datetime) -> None:
    _later(db, lambda s: s.close_auction(auction_id, at))


def make_draw_at(db: AsyncSession, product_id: int, at: datetime) -> None:
    _later(db, lambda s: s.make_draw(product_id, at))


def expire_offer_at(db: AsyncSession, order_id: int, at: datetime) -> None:
    _later(db, lambda s: s.expire_offer(order_id, at))


def send_refund(db: AsyncSession, refund_id: int) -> None:
    _later(db, lambda s: s.send_refund(refund_id))


def send_mail(db: AsyncSession, mail_id: int) -> None:
    _later(db, lambda s: s.send_mail(mail_id))


def send_password_reset(db: AsyncSession, email: str, language: str | None = None) -> None:
    _later(db, lambda s: s.send_password_reset(email, language))


def refresh_gate(db: AsyncSession, product_id: int) -> None:
    scheduler = scheduler_of(db)
    after_commit(db, lambda: scheduler.refresh_gate(product_id))
