"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.base import Base, utcnow
from app.models.catalog import Category, Product, ProductDailyStats, ProductImage, ProductStatus, ProductStatusChange
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from app.models.members import (
    ApplicationStatus,
    AuditEntry,
    Member,
    MemberRole,
    MemberStatus,
    SellerApplication,
)
from app.models.orders import Order, OrderChange, OrderSource, OrderStatus
from app.models.payments import (
    Payment,
    PaymentAudit,
    PaymentChange,
    PaymentStatus,
    Policy,
    Refund,
    RefundStatus,
    SettlementEntry,
)

__all__ = [
    "ApplicationStatus",
    "AuditEntry",
    "Base",
    "Category",
    "EventFailure",
    "InboxEntry",
    "Member",
    "MemberRole",
    "MemberStatus",
    "Order",
    "OrderChange",
    "OrderSource",
    "OrderStatus",
    "OutboxEvent",
    "Payment",
    "PaymentAudit",
    "PaymentChange",
    "PaymentStatus",
    "Policy",
    "Product",
    "ProductDailyStats",
    "ProductImage",
    "ProductStatus",
    "ProductStatusChange",
    "PurchaseRight",
    "PurchaseRightChange",
    "Refund",
    "RefundStatus",
    "RightStatus",
    "SellerApplication",
    "SettlementEntry",
    "StockEntry",
    "StockReason",
    "utcnow",
]
