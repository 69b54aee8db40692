"""All models, imported here so that Alembic and the app see one metadata."""

from app.models.base import Base, utcnow
from app.models.catalog import Category
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
    "Member",
    "MemberRole",
    "MemberStatus",
    "SellerApplication",
    "utcnow",
]
