"""Payments through the gateway, refunds, the policies in force, the seller settlement ledger and
the audit trail of every gateway call and payment step."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow


class PaymentStatus(StrEnum):
    READY = "ready"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PARTIALLY_CANCELLED = "partially_cancelled"


class RefundStatus(StrEnum):
    RESERVED = "reserved"  # the amount is held against the payment; the gateway has not answered yet
    DONE = "done"
    FAILED = "failed"  # the gateway refused: the reservation was released


class Policy(TimestampMixin, Base):
    """One version of the shop's money rules; the newest is in force. Payments keep a copy."""

    __tablename__ = "policies"
    __table_args__ = (CheckConstraint("fee_basis_points >= 0 AND fee_basis_points <= 10000", name="fee_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fee_basis_points: Mapped[int] = mapped_column(Integer, nullable=False)  # 1,000 = 10 %
    # [[hours since payment, percent refundable], ...] ascending by hours; after the last: nothing
    refund_tiers: Mapped[list[list[int]]] = mapped_column(JSON, nullable=False)
    # a member may give up an unpaid order (and its unit) until this many minutes before its deadline
    cancel_until_minutes_before: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class Payment(TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_amount >= 0 AND refund_reserved >= 0 AND refunded_amount + refund_reserved <= amount",
            name="refunds_within_amount",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    # the "orderId" the gateway knows this attempt by; one per payment attempt
    gateway_order_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    payment_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus), nullable=False, default=PaymentStatus.READY)
    method: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_code: Mapped[str | None] = mapped_column(String(80))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refund_reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # the policy in force when the payment was made
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    fee_basis_points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refund_tiers: Mapped[list[list[int]]] = mapped_column(JSON, nullable=False, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class PaymentChange(TimestampMixin, Base):
    __tablename__ = "payment_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    from_status: Mapped[PaymentStatus | None] = mapped_column(str_enum(PaymentStatus))
    to_status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(300))


class Refund(TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # units given back
    reason: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[RefundStatus] = mapped_column(str_enum(RefundStatus), nullable=False, default=RefundStatus.RESERVED)
    # sent as the gateway's Idempotency-Key: a retried cancel never refunds twice
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SettlementEntry(TimestampMixin, Base):
    """Append-only: a seller's balance is the sum of ``net``."""

    __tablename__ = "settlement_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # "sale:payment:7", "refund:12": an event delivered twice never writes twice
    unique_key: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)


class PaymentAudit(TimestampMixin, Base):
    """Every gateway request and response (secrets redacted) and every payment step."""

    __tablename__ = "payment_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # gateway.confirm, state, refund ...
    summary: Mapped[str] = mapped_column(String(300), nullable=False)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
