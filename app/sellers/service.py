"""Seller application use cases: apply, approve, reject."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.rules import reason_error
from app.audit import record_audit
from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import _
from app.core.labels import label
from app.core.status import Aggregate, Move, columns, created, move, register
from app.db import add_once
from app.models.members import ApplicationStatus, Member, MemberRole, MemberStatus, SellerApplication
from app.sellers import rules
from app.web.pagination import Page, paginate


def _decision(step: Move[ApplicationStatus]) -> dict[str, object]:
    """A decision records who made it and when, and a rejection why."""
    reason = step.reason if step.target is ApplicationStatus.REJECTED else None
    return {"decided_by_id": step.actor_id, "decided_at": step.now, "decision_reason": reason}


APPLICATION = register(
    Aggregate(
        "seller_application",
        SellerApplication,
        rules.APPLICATION_STATUS,
        values=_decision,
        payload=columns("member_id"),
    )
)


class SellerService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def latest_application(self, member: Member) -> SellerApplication | None:
        stmt = (
            select(SellerApplication)
            .where(SellerApplication.member_id == member.id)
            .order_by(SellerApplication.id.desc())
            .limit(1)
        )
        return (await self.db.execute(stmt)).scalar_one_or_none()

    async def apply(self, member: Member, business_name: str, contact: str, description: str) -> SellerApplication:
        if member.role is not MemberRole.SHOPPER:
            raise DomainError(_("You are already a seller.") if member.is_seller else _("Administrators cannot apply."))
        latest = await self.latest_application(member)
        if latest is not None and latest.status is ApplicationStatus.PENDING:
            raise DomainError(_("Your application is already waiting for review."))
        errors = rules.application_errors(business_name, contact, description)
        if errors:
            raise FormInvalid(errors)
        application = SellerApplication(
            member_id=member.id,
            business_name=business_name,
            contact=contact,
            description=description,
            status=ApplicationStatus.PENDING,
        )
        if not await add_once(self.db, application):  # a concurrent submission won: one pending per member
            raise DomainError(_("Your application is already waiting for review."))
        created(self.db, application, reason="applied", actor=member)
        return application

    async def get(self, application_id: int) -> SellerApplication:
        stmt = (
            select(SellerApplication)
            .where(SellerApplication.id == application_id)
            .options(selectinload(SellerApplication.member), selectinload(SellerApplication.decided_by))
        )
        application = (await self.db.execute(stmt)).scalar_one_or_none()
        if application is None:
            raise NotFound(_("This application does not exist."))
        return application

    async def list_applications(
        self, status: ApplicationStatus | None, page: int, size: int
    ) -> Page[SellerApplication]:
        stmt = select(SellerApplication).options(
            selectinload(SellerApplication.member), selectinload(SellerApplication.decided_by)
        )
        if status is not None:
            stmt = stmt.where(SellerApplication.status == status)
        stmt = stmt.order_by(
            SellerApplication.id.desc() if status is not ApplicationStatus.PENDING else SellerApplication.id
        )
        return await paginate(self.db, stmt, page, size, {"status": status.value if status else "all"})

    async def _pending(self, application_id: int) -> SellerApplication:
        stmt = (
            select(SellerApplication)
            .where(SellerApplication.id == application_id)
            .options(selectinload(SellerApplication.member))
            .with_for_update()
        )
        application = (await self.db.execute(stmt)).scalar_one_or_none()
        if application is None:
            raise NotFound(_("This application does not exist."))
        if application.status is not ApplicationStatus.PENDING:
            raise DomainError(
                _("This application was already %(state)s.", state=label(application.status, "application").lower())
            )
        return application

    async def approve(self, application_id: int, admin: Member) -> SellerApplication:
        application = await self._pending(application_id)
        member = application.member
        if member.status is not MemberStatus.ACTIVE:
            raise DomainError(
                _(
                    "The applicant's account is %(state)s; it cannot become a seller.",
                    state=label(member.status, "member").lower(),
                )
            )
        await move(self.db, application, ApplicationStatus.APPROVED, actor=admin, reason="approved")
        member.role = MemberRole.SELLER
        await record_audit(self.db, actor=admin, action="seller_application.approve", target=application)
        return application

    async def reject(self, application_id: int, admin: Member, reason: str) -> SellerApplication:
        application = await self._pending(application_id)
        if err := reason_error(reason):
            raise FormInvalid({"reason": err})
        await move(self.db, application, ApplicationStatus.REJECTED, actor=admin, reason=reason)
        await record_audit(self.db, actor=admin, action="seller_application.reject", target=application, reason=reason)
        return application
