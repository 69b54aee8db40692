"""What the admin dashboard counts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.members import ApplicationStatus, Member, MemberStatus, SellerApplication
from app.models.payments import Refund, RefundStatus


async def dashboard_counts(db: AsyncSession) -> dict[str, int]:
    """Pending seller applications, suspended members, all members, refund requests waiting."""
    pending = select(func.count()).where(SellerApplication.status == ApplicationStatus.PENDING)
    suspended = select(func.count()).where(Member.status == MemberStatus.SUSPENDED)
    refunds = select(func.count()).where(Refund.status == RefundStatus.REQUESTED)
    return {
        "pending": (await db.execute(pending)).scalar_one(),
        "suspended": (await db.execute(suspended)).scalar_one(),
        "members": (await db.execute(select(func.count(Member.id)))).scalar_one(),
        "refund_requests": (await db.execute(refunds)).scalar_one(),
    }
