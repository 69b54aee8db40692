"""Transactional outbox and inbox: events are stored with the change that caused them, relayed to
the queue after commit, and each handler runs once per event id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, PrimaryKeyConstraint, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class OutboxEvent(TimestampMixin, Base):
    """``published_at``: first sent to the queue; ``resend_at``: when the relay sends it again if it
    is still not handled (backoff by ``publish_attempts``); ``handled_at``: every handler has run or
    is parked, so it is never sent again and is pruned after the retention (unless one is parked)."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # Only events not handled yet are in it: the relay's resend query stays cheap however many
        # handled rows the table holds.
        Index(
            "ix_outbox_events_resend_at",
            "resend_at",
            postgresql_where=text("handled_at IS NULL"),
            sqlite_where=text("handled_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    topic: Mapped[str] = mapped_column(String(80))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    publish_attempts: Mapped[int] = mapped_column(default=0)
    resend_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None] = mapped_column(index=True)
    # The W3C trace context (``traceparent``, ``tracestate``) of the transaction that wrote the
    # event: the relay sends it with the message, so the handlers' spans continue that trace.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSON)


class InboxEntry(TimestampMixin, Base):
    """A handler has processed an event: the primary key makes a redelivery a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[str] = mapped_column(String(32))
    handler: Mapped[str] = mapped_column(String(80))


class EventFailure(TimestampMixin, Base):
    """A handler that failed on an event: retried with backoff, then parked for an admin to see
    and retry (``/admin/events``)."""

    __tablename__ = "event_failures"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[str] = mapped_column(String(32))
    handler: Mapped[str] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_failed_at: Mapped[datetime]
    parked_at: Mapped[datetime | None] = mapped_column(index=True)
