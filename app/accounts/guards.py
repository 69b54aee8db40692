"""Role checks as Litestar guards. Anonymous → 401 (turned into a redirect to the login page);
signed in without the role → 403 page."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.htmx import HTMXRequest

from app.accounts.identity import current_member
from app.core.i18n import _
from app.models.members import Member, MemberRole


async def _member_or_401(connection: ASGIConnection[Any, Any, Any, Any]) -> Member:
    member = await current_member(connection)
    if member is None:
        raise NotAuthorizedException(_("Please sign in to continue."))
    return member


async def requires_login(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    await _member_or_401(connection)


async def requires_seller(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    member = await _member_or_401(connection)
    if member.role is not MemberRole.SELLER:
        raise PermissionDeniedException(_("This page is for approved sellers. You can apply at /seller/apply."))


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    member = await _member_or_401(connection)
    if member.role is not MemberRole.ADMIN:
        raise PermissionDeniedException(_("This page is for administrators."))


async def provide_member(request: HTMXRequest) -> Member:
    """Dependency ``member: Member`` for handlers behind one of the guards above."""
    return await _member_or_401(request)
