"""Member moderation use cases for administrators: search, suspend, unsuspend, reset a password.

Every status change goes through ``set_member_status`` (the status core + an audit row); this service
only adds who may be moderated and turns refusals into messages. It flushes, never commits.
"""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import unusable_password
from app.accounts.resets import close_links, issue_link
from app.accounts.rules import reason_error
from app.accounts.service import end_sessions, set_member_status
from app.audit import audit_trail, record_audit
from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import _
from app.core.states import IllegalTransition
from app.models.members import AuditEntry, Member, MemberStatus
from app.web.csv_export import CsvExport, Label, Row, zoned
from app.web.pagination import Page, paginate

QUERY_MAX = 200
# Ids above the database's INTEGER range cannot exist; refusing them early avoids driver overflow.
_ID_MAX = 2**31 - 1
STATUS_FILTERS = {status.value: status for status in MemberStatus}


def escape_like(text: str, escape: str = "\\") -> str:
    """``text`` as a literal inside a LIKE pattern: ``%``, ``_`` and the escape char lose their meaning."""
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def search_statement(q: str, status: MemberStatus | None) -> Select[Member]:
    stmt = select(Member)
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Member.email).like(pattern, escape="\\"),
                func.lower(Member.display_name).like(pattern, escape="\\"),
            )
        )
    if status is not None:
        stmt = stmt.where(Member.status == status)
    return stmt.order_by(Member.id)


def checked_query(q: str) -> str:
    """The search as typed, stripped; FormInvalid when it is too long to search for."""
    q = q.strip()
    if len(q) > QUERY_MAX:
        raise FormInvalid({"q": _("Search for at most %(n)s characters.", n=QUERY_MAX)})
    return q


def members_export(q: str, status: str | None) -> CsvExport:
    """The members the search finds (as ``search`` pages them, by id), as a CSV download; raises
    FormInvalid for a search the page refuses."""
    q = checked_query(q)
    status_filter = STATUS_FILTERS.get(status or "")

    async def read(db: AsyncSession, after: int | None, size: int) -> tuple[list[Row], int | None]:
        stmt = search_statement(q, status_filter)
        if after is not None:
            stmt = stmt.where(Member.id > after)
        found = list((await db.execute(stmt.limit(size))).scalars())
        rows: list[Row] = [
            (
                m.id,
                m.display_name,
                m.email,
                Label(m.role, "role"),
                Label(m.status, "member"),
                m.status_reason,
                m.created_at,
            )
            for m in found
        ]
        return rows, found[-1].id if found else None

    def header() -> list[str]:
        return [_("Member"), _("Display name"), _("Email"), _("Role"), _("Status"), _("Reason"), zoned(_("Joined at"))]

    return CsvExport(f"members-{status_filter.value}" if status_filter else "members", header, read)


class MemberModerationService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def search(self, q: str, status: str | None, page: int, size: int) -> Page[Member]:
        """Members whose email or display name contains ``q`` (any case), optionally one status."""
        q = checked_query(q)
        status_filter = STATUS_FILTERS.get(status or "")
        params = {"q": q, "status": status_filter.value if status_filter else ""}
        return await paginate(self.db, search_statement(q, status_filter), page, size, params)

    async def get(self, member_id: int, *, for_update: bool = False) -> Member:
        if not 1 <= member_id <= _ID_MAX:
            raise NotFound(_("This member does not exist."))
        stmt = select(Member).where(Member.id == member_id)
        if for_update:
            stmt = stmt.with_for_update()
        member = (await self.db.execute(stmt)).scalar_one_or_none()
        if member is None:
            raise NotFound(_("This member does not exist."))
        return member

    async def trail(self, member: Member) -> list[AuditEntry]:
        return await audit_trail(self.db, Member.__tablename__, member.id)

    async def suspend(self, member_id: int, admin: Member, reason: str) -> Member:
        member = await self.get(member_id, for_update=True)
        if member.id == admin.id:
            raise DomainError(_("You cannot suspend your own account."))
        if member.is_admin:
            raise DomainError(_("Administrators cannot be suspended here."))
        await self._change(member, MemberStatus.SUSPENDED, admin, reason)
        return member

    async def unsuspend(self, member_id: int, admin: Member, reason: str) -> Member:
        member = await self.get(member_id, for_update=True)
        await self._change(member, MemberStatus.ACTIVE, admin, reason)
        return member

    async def reset_password(self, member_id: int, admin: Member, reason: str) -> Member:
        """The member's password stops working, every session of theirs ends, and they are mailed a
        link to choose a new one (a stolen account is taken back)."""
        member = await self.get(member_id, for_update=True)
        if member.id == admin.id:
            raise DomainError(_("Change your own password on your account page."))
        if member.status is MemberStatus.WITHDRAWN:
            raise DomainError(
                _("%(name)s has withdrawn; a withdrawn account cannot be moderated.", name=member.display_name)
            )
        if err := reason_error(reason):
            raise FormInvalid({"reason": err})
        member.password_hash = unusable_password()
        await self.db.flush()
        await close_links(self.db, member.id)
        await end_sessions(self.db, member)
        await record_audit(self.db, actor=admin, action="member.password_reset", target=member, reason=reason)
        await issue_link(self.db, member, template="password_reset_admin")
        return member

    async def _change(self, member: Member, target: MemberStatus, admin: Member, reason: str) -> None:
        if member.status is MemberStatus.WITHDRAWN:
            raise DomainError(
                _("%(name)s has withdrawn; a withdrawn account cannot be moderated.", name=member.display_name)
            )
        if err := reason_error(reason):
            raise FormInvalid({"reason": err})
        try:
            await set_member_status(self.db, member, target, actor=admin, reason=reason)
        except IllegalTransition:
            if target is MemberStatus.SUSPENDED:
                message = _("%(name)s is already suspended; nothing was changed.", name=member.display_name)
            else:
                message = _("%(name)s is not suspended; nothing was changed.", name=member.display_name)
            raise DomainError(message) from None
