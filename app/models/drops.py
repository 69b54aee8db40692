"""Purchase rights (a unit reserved for a member until paid) and the append-only stock ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, StatusHistory, TimestampMixin, Won


class RightStatus(StrEnum):
    HELD = "held"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class StockReason(StrEnum):
    LISTING = "listing"  # the fixed-price units put on sale when the sale opens
    PURCHASE = "purchase"
    EXPIRY = "expiry"
    PAYMENT_FAILED = "payment_failed"
    CANCEL = "cancel"
    REFUND = "refund"
    CONVERSION = "conversion"
    ADMIN_ADJUST = "admin_adjust"


class PurchaseRight(TimestampMixin, Base):
    __tablename__ = "purchase_rights"
    __table_args__ = (
        Index("ix_purchase_rights_product_member_status", "product_id", "member_id", "status"),
        Index("ix_purchase_rights_status_expires_at", "status", "expires_at"),
        # the seller's sell-through chart counts a drop's rights per second since its opening
        Index("ix_purchase_rights_product_id_created_at", "product_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # the key rendered into the page the member pressed Buy on: one right per press
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[RightStatus] = mapped_column(default=RightStatus.HELD)
    unit_price: Mapped[Won]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class StockEntry(TimestampMixin, Base):
    """Append-only: the sum of ``delta`` for a product equals its fixed-price units left."""

    __tablename__ = "stock_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    delta: Mapped[int]
    reason: Mapped[StockReason]
    reference: Mapped[str | None] = mapped_column(String(80))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # e.g. "purchase:right:42": a redelivered event can never write the same row twice
    unique_key: Mapped[str] = mapped_column(String(120), unique=True)


class PressRefusal(TimestampMixin, Base):
    """The answer a refused Buy press got, kept with its idempotency key so that a replay of the key
    gets the same answer whatever happened to the gate (a granted key is its purchase right)."""

    __tablename__ = "press_refusals"
    __table_args__ = (
        Index("ix_press_refusals_created_at", "created_at"),
        # the seller's sell-through chart counts a drop's refused presses per second
        Index("ix_press_refusals_product_id_created_at", "product_id", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(24))


class PurchaseRightChange(StatusHistory, Base):
    __tablename__ = "purchase_right_changes"

    right_id: Mapped[int] = mapped_column(ForeignKey("purchase_rights.id"), index=True)
    from_status: Mapped[RightStatus | None]
    to_status: Mapped[RightStatus]
