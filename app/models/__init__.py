"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.base import Base, utcnow
from app.models.catalog import Category, Product, ProductDailyStats, ProductImage, ProductStatus, ProductStatusChange
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason
from app.models.events import InboxEntry, OutboxEvent
from app.models.members import (
    ApplicationStatus,
    AuditEntry,
    Member,
    MemberRole,
    MemberStatus,
    SellerApplication,
)

__all__ = [
    "ApplicationStatus",
    "AuditEntry",
    "Base",
    "Category",
    "InboxEntry",
    "Member",
    "MemberRole",
    "MemberStatus",
    "OutboxEvent",
    "Product",
    "ProductDailyStats",
    "ProductImage",
    "ProductStatus",
    "ProductStatusChange",
    "PurchaseRight",
    "PurchaseRightChange",
    "RightStatus",
    "SellerApplication",
    "StockEntry",
    "StockReason",
    "utcnow",
]
