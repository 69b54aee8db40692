"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.auctions import (
    Auction,
    AuctionChange,
    AuctionResult,
    Bid,
    BidKind,
    Notification,
    NotificationKind,
    ResultStatus,
    StandingBid,
)
from app.models.base import Base, utcnow
from app.models.catalog import (
    Category,
    Product,
    ProductDailyStats,
    ProductImage,
    ProductStatus,
    ProductStatusChange,
    StoredPicture,
)
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PressRefusal, PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from app.models.lines import Admission, LinePlace
from app.models.mail import OutgoingMail
from app.models.members import (
    ApplicationStatus,
    AuditEntry,
    Member,
    MemberRole,
    MemberStatus,
    PasswordReset,
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
from app.models.search import SearchPending
from app.models.status import StatusChange

__all__ = [
    "Admission",
    "ApplicationStatus",
    "Auction",
    "AuctionChange",
    "AuctionResult",
    "AuditEntry",
    "Base",
    "Bid",
    "BidKind",
    "Category",
    "DrawEntry",
    "EntryStatus",
    "EventFailure",
    "InboxEntry",
    "LinePlace",
    "Member",
    "MemberRole",
    "MemberStatus",
    "Notification",
    "NotificationKind",
    "Order",
    "OrderChange",
    "OrderSource",
    "OrderStatus",
    "OutboxEvent",
    "OutgoingMail",
    "PasswordReset",
    "Payment",
    "PaymentAudit",
    "PaymentChange",
    "PaymentStatus",
    "Policy",
    "PressRefusal",
    "Product",
    "ProductDailyStats",
    "ProductImage",
    "ProductStatus",
    "ProductStatusChange",
    "PurchaseRight",
    "PurchaseRightChange",
    "Refund",
    "RefundStatus",
    "ResultStatus",
    "RightStatus",
    "SearchPending",
    "SellerApplication",
    "SettlementEntry",
    "StandingBid",
    "StatusChange",
    "StockEntry",
    "StockReason",
    "StoredPicture",
    "utcnow",
]
