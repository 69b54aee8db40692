"""The mail outbox: every email the shop sends is a row first, written in the transaction that
decides to send it, and delivered after the commit (SMTP with ``SMTP_URL``; the embedded default
keeps it here, shown at ``/dev/mail``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class OutgoingMail(TimestampMixin, Base):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # what it is about: a reset link, an auction notice
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # One mail per subject (a redelivered event or a second sweep adds nothing); None: no such rule.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The body holds a secret (a reset link): blanked once the mail has left through SMTP.
    sensitive: Mapped[bool] = mapped_column(default=False, server_default=false())
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
