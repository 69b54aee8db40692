"""Orders: what a member owes for a purchase right (later: an auction win), and its history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, StatusHistory, UpdatedAtMixin, Won, in_range, positive


class OrderStatus(StrEnum):
    CREATED = "created"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class OrderSource(StrEnum):
    DROP = "drop"
    AUCTION = "auction"


class Order(UpdatedAtMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        positive("quantity"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        in_range("refunded_quantity", 0, "quantity"),
        Index("ix_orders_status_pay_by", "status", "pay_by"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    source: Mapped[OrderSource]
    # one order per purchase right, whatever number of times the "right granted" event arrives
    right_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_rights.id"), unique=True)
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[Won]
    amount: Mapped[Won]
    refunded_quantity: Mapped[int] = mapped_column(default=0)
    status: Mapped[OrderStatus] = mapped_column(default=OrderStatus.CREATED)
    pay_by: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class OrderChange(StatusHistory, Base):
    __tablename__ = "order_changes"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[OrderStatus | None]
    to_status: Mapped[OrderStatus]
