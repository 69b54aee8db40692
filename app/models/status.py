"""The status history of aggregates that keep no history table of their own (refunds, auction
results, seller applications, members): one row per move, written by the status core."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class StatusChange(TimestampMixin, Base):
    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_aggregate_entity_id", "aggregate", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(40))  # "refund", "member", …
    entity_id: Mapped[int]
    from_status: Mapped[str | None] = mapped_column(String(24))  # None: the row's first status
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
