"""``/admin/members``: search members, see their history, suspend and unsuspend with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_admin
from app.admin.member_service import STATUS_FILTERS, MemberModerationService
from app.core.errors import DomainError, FormInvalid
from app.models.members import Member
from app.web.forms import parse_positive_int, read_form
from app.web.templating import page as render


async def provide_moderation(db: NamedDependency[AsyncSession]) -> MemberModerationService:
    return MemberModerationService(db)


class AdminMemberController(Controller):
    path = "/admin/members"
    guards = [requires_admin]
    dependencies = {"moderation": Provide(provide_moderation), "admin": Provide(provide_member)}

    @get("/", name="admin_members")
    async def index(
        self,
        request: HTMXRequest,
        moderation: NamedDependency[MemberModerationService],
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        page: FromQuery[str | None] = None,
    ) -> Template:
        query = (q or "").strip()
        status_key = status if status in STATUS_FILTERS else ""
        context: dict[str, Any] = {"q": query, "status": status_key, "statuses": list(STATUS_FILTERS), "errors": {}}
        try:
            context["page"] = await moderation.search(
                query, status_key, parse_positive_int(page), request.app.state.settings.page_size
            )
        except FormInvalid as exc:
            context.update(page=None, errors=exc.errors)
            return render(request, "admin/members.html", context, status_code=400)
        return render(request, "admin/members.html", context)

    async def _detail(
        self,
        request: HTMXRequest,
        moderation: MemberModerationService,
        member_id: int,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        target = await moderation.get(member_id)
        context: dict[str, Any] = {"target": target, "trail": await moderation.trail(target)}
        context.update({"values": {}, "errors": {}, **extra})
        return render(request, "admin/member_detail.html", context, status_code=status_code)

    @get("/{member_id:int}", name="admin_member")
    async def detail(
        self,
        request: HTMXRequest,
        member_id: FromPath[int],
        moderation: NamedDependency[MemberModerationService],
    ) -> Template:
        return await self._detail(request, moderation, member_id)

    async def _moderate(
        self,
        request: HTMXRequest,
        moderation: MemberModerationService,
        member_id: int,
        admin: Member,
        action: str,
    ) -> Template | Redirect:
        form = await read_form(request)
        reason = form.get("reason", "")
        act = moderation.suspend if action == "suspend" else moderation.unsuspend
        try:
            target = await act(member_id, admin, reason)
        except FormInvalid as exc:
            return await self._detail(
                request, moderation, member_id, 422, values={"reason": reason}, errors=exc.errors, message=exc.message
            )
        except DomainError as exc:
            flash(request, exc.message, "error")
            return Redirect(f"/admin/members/{member_id}", status_code=303)
        done = "suspended" if action == "suspend" else "unsuspended"
        flash(request, f"{target.display_name} was {done}.", "success")
        return Redirect(f"/admin/members/{member_id}", status_code=303)

    @post("/{member_id:int}/suspend", name="admin_member_suspend")
    async def suspend(
        self,
        request: HTMXRequest,
        member_id: FromPath[int],
        admin: NamedDependency[Member],
        moderation: NamedDependency[MemberModerationService],
    ) -> Template | Redirect:
        return await self._moderate(request, moderation, member_id, admin, "suspend")

    @post("/{member_id:int}/unsuspend", name="admin_member_unsuspend")
    async def unsuspend(
        self,
        request: HTMXRequest,
        member_id: FromPath[int],
        admin: NamedDependency[Member],
        moderation: NamedDependency[MemberModerationService],
    ) -> Template | Redirect:
        return await self._moderate(request, moderation, member_id, admin, "unsuspend")
