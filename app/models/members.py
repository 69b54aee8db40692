"""Members, seller applications and the moderation audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin


class MemberRole(StrEnum):
    SHOPPER = "shopper"
    SELLER = "seller"
    ADMIN = "admin"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Member(TimestampMixin, Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[MemberRole] = mapped_column(default=MemberRole.SHOPPER)
    status: Mapped[MemberStatus] = mapped_column(default=MemberStatus.ACTIVE, index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    withdrawn_at: Mapped[datetime | None]
    # A session is valid only while it carries this number: raising it ends every session of the
    # member at their next request, whatever store the sessions live in (app/accounts/identity.py).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the member opened the confirmation link mailed to their address (None: not yet). A draw
    # takes entries only from confirmed accounts.
    email_confirmed_at: Mapped[datetime | None]
    # Notices that ask for a payment (an auction or a draw won, a unit offered, a deadline near) also
    # come by email.
    email_notices: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The member's language ("ko", "en"; none: the browser's) and time zone (none: Asia/Seoul).
    language: Mapped[str | None] = mapped_column(String(8))
    time_zone: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_active(self) -> bool:
        return self.status is MemberStatus.ACTIVE

    @property
    def is_seller(self) -> bool:
        return self.role is MemberRole.SELLER

    @property
    def is_admin(self) -> bool:
        return self.role is MemberRole.ADMIN


class SellerApplication(TimestampMixin, Base):
    __tablename__ = "seller_applications"
    __table_args__ = (
        # at most one application waiting for review per member, even when two arrive at once
        Index(
            "uq_seller_applications_one_pending",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    business_name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ApplicationStatus] = mapped_column(default=ApplicationStatus.PENDING, index=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[datetime | None]

    member: Mapped[Member] = relationship(foreign_keys=[member_id], lazy="raise")
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id], lazy="raise")


class AuditEntry(TimestampMixin, Base):
    """Who did what to whom, when and why. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(500))
    # The client address of the request that did it (a trusted proxy's word for it, else the peer);
    # None for what a job or a script did.
    client_address: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[Member | None] = relationship(foreign_keys=[actor_id], lazy="raise")


class PasswordReset(TimestampMixin, Base):
    """A "forgot password" link: only the SHA-256 of its token is kept; it works once, until
    ``expires_at``."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
