"""``/admin/members``: search members, see their history, suspend and unsuspend with a reason, reset
a member's password (their sessions end; they are mailed a link to choose a new one); the search's
members as a CSV download (``/admin/members/export.csv``)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Stream, Template

from app.admin.member_service import STATUS_FILTERS, MemberModerationService, members_export
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.models.members import Member
from app.web.csv_export import csv_download
from app.web.pages import ModerationPages, moderation_action, moderation_page, with_db
from app.web.pagination import wanted
from app.web.params import AppServices, Query
from app.web.templating import page as render

Moderation = NamedDependency[MemberModerationService]


class AdminMemberController(ModerationPages):
    path = "/admin/members"
    dependencies = {"moderation": with_db(MemberModerationService)}

    @get("/", name="admin_members")
    async def index(
        self, request: HTMXRequest, moderation: Moderation, q: Query = None, status: Query = None, page: Query = None
    ) -> Template:
        return await _members_page(request, moderation, q, status, page)

    @get("/export.csv", name="admin_members_export")
    async def export(
        self, request: HTMXRequest, moderation: Moderation, services: AppServices, q: Query = None, status: Query = None
    ) -> Stream | Template:
        """The members the page's search finds, every page of them, as a CSV download."""
        try:
            export = members_export(q or "", status)
        except FormInvalid:  # the page, with what was refused
            return await _members_page(request, moderation, q, status, None)
        return csv_download(services.database, export)

    async def _detail(
        self, request: HTMXRequest, moderation: MemberModerationService, member_id: int, status_code: int, **extra: Any
    ) -> Template:
        target = await moderation.get(member_id)
        context: dict[str, Any] = {"target": target, "trail": await moderation.trail(target)}
        context.update({"values": {}, "errors": {}, **extra})
        return render(request, "admin/member_detail.html", context, status_code=status_code)

    detail = moderation_page("admin_member")

    def _done(self, action: str, target: Member) -> str:
        if action == "reset_password":
            return _(
                "%(name)s's password was reset: they were signed out everywhere and mailed a link.",
                name=target.display_name,
            )
        if action == "suspend":
            return _("%(name)s was suspended.", name=target.display_name)
        return _("%(name)s was unsuspended.", name=target.display_name)

    suspend = moderation_action("suspend", "admin_member_suspend")
    unsuspend = moderation_action("unsuspend", "admin_member_unsuspend")
    reset_password = moderation_action("reset_password", "admin_member_reset_password")


async def _members_page(
    request: HTMXRequest, moderation: MemberModerationService, q: str | None, status: str | None, page: str | None
) -> Template:
    query = (q or "").strip()
    status_key = status if status in STATUS_FILTERS else ""
    context: dict[str, Any] = {"q": query, "status": status_key, "statuses": list(STATUS_FILTERS), "errors": {}}
    try:
        context["page"] = await moderation.search(query, status_key, *wanted(request, page))
    except FormInvalid as exc:
        context.update(page=None, errors=exc.errors)
        return render(request, "admin/members.html", context, status_code=400)
    return render(request, "admin/members.html", context)
