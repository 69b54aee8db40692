"""Payments through the gateway, refunds, the policies in force, the seller settlement ledger and
the audit trail of every gateway call and payment step."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, StatusHistory, TimestampMixin, UpdatedAtMixin, Won, in_range, positive


class PaymentStatus(StrEnum):
    READY = "ready"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PARTIALLY_CANCELLED = "partially_cancelled"


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # money only (the units stay with the shopper): waits for the seller or an admin
    REJECTED = "rejected"  # the seller or an admin said no, with a reason
    RESERVED = "reserved"  # the amount is held against the payment; the gateway has not answered yet
    DONE = "done"
    FAILED = "failed"  # the gateway refused: the reservation was released


class Policy(TimestampMixin, Base):
    """One version of the shop's money rules; the newest is in force. Payments keep a copy."""

    __tablename__ = "policies"
    __table_args__ = (in_range("fee_basis_points", 0, 10000, name="fee_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fee_basis_points: Mapped[int]  # 1,000 = 10 %
    # [[hours since payment, percent refundable], ...] ascending by hours; after the last: nothing
    refund_tiers: Mapped[list[list[int]]] = mapped_column(JSON)
    # a member may give up an unpaid order (and its unit) until this many minutes before its deadline
    cancel_until_minutes_before: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class Payment(UpdatedAtMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        positive("amount"),
        CheckConstraint(
            "refunded_amount >= 0 AND refund_reserved >= 0 AND refunded_amount + refund_reserved <= amount",
            name="refunds_within_amount",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # the "orderId" the gateway knows this attempt by; one per payment attempt
    gateway_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    payment_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    amount: Mapped[Won]
    status: Mapped[PaymentStatus] = mapped_column(default=PaymentStatus.READY)
    method: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[datetime | None]
    failure_code: Mapped[str | None] = mapped_column(String(80))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    refunded_amount: Mapped[Won] = mapped_column(default=0)
    refund_reserved: Mapped[Won] = mapped_column(default=0)
    # the policy in force when the payment was made
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    # when the payment was last looked up at the gateway for changes made there (the reconcile)
    checked_at: Mapped[datetime | None]
    fee_basis_points: Mapped[int] = mapped_column(default=0)
    refund_tiers: Mapped[list[list[int]]] = mapped_column(JSON, default=list)


class PaymentChange(StatusHistory, Base):
    __tablename__ = "payment_changes"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    from_status: Mapped[PaymentStatus | None]
    to_status: Mapped[PaymentStatus]
    reason: Mapped[str | None] = mapped_column(String(300))


class Refund(TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (positive("amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[Won]
    quantity: Mapped[int] = mapped_column(default=0)  # units given back
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[RefundStatus] = mapped_column(default=RefundStatus.RESERVED, index=True)
    # sent as the gateway's Idempotency-Key: a retried cancel never refunds twice
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    completed_at: Mapped[datetime | None]
    # a request for money only is decided by the seller or an admin: who, when, and why not
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(300))
    # the gateway's key of the cancellation that made this refund: the shop's own, or one made at
    # the gateway outside the shop (recorded once: the key is unique)
    gateway_transaction_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class SettlementEntry(TimestampMixin, Base):
    """Append-only: a seller's balance is the sum of ``net``."""

    __tablename__ = "settlement_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    gross: Mapped[Won]
    fee: Mapped[Won]
    net: Mapped[Won]
    # "sale:payment:7", "refund:12": an event delivered twice never writes twice
    unique_key: Mapped[str] = mapped_column(String(80), unique=True)


class PaymentAudit(TimestampMixin, Base):
    """Every gateway request and response (secrets redacted) and every payment step."""

    __tablename__ = "payment_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # gateway.confirm, state, refund ...
    summary: Mapped[str] = mapped_column(String(300))
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    http_status: Mapped[int | None]
    duration_ms: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(Text)
