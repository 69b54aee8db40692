"""Transactional outbox and inbox: events are stored with the change that caused them, relayed to
the queue after commit, and each handler runs once per event id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class OutboxEvent(TimestampMixin, Base):
    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    topic: Mapped[str] = mapped_column(String(80), nullable=False)
    aggregate_type: Mapped[str] = mapped_column(String(40), nullable=False)
    aggregate_id: Mapped[int] = mapped_column(Integer, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    publish_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class InboxEntry(TimestampMixin, Base):
    """A handler has processed an event: the primary key makes a redelivery a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[str] = mapped_column(String(32), nullable=False)
    handler: Mapped[str] = mapped_column(String(80), nullable=False)


class EventFailure(TimestampMixin, Base):
    """A handler that failed on an event: retried with backoff, then parked for an admin to see
    and retry (``/admin/events``)."""

    __tablename__ = "event_failures"
    __table_args__ = (PrimaryKeyConstraint("event_id", "handler"),)

    event_id: Mapped[str] = mapped_column(String(32), nullable=False)
    handler: Mapped[str] = mapped_column(String(80), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
