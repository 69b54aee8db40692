"""The shapes most pages share: a signed-in member's pages, a paged list page, and the answer to a
form post that tells the member what happened and goes on to another page."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_admin, requires_login, requires_seller
from app.accounts.identity import current_member, session_member_id
from app.core.errors import DomainError, FormInvalid
from app.core.i18n import Msg
from app.models.members import Member
from app.web.forms import read_form
from app.web.pagination import wanted
from app.web.templating import page as render

SIGN_IN = Msg("Please sign in to continue.")
T = TypeVar("T")
R = TypeVar("R")


class MemberPages(Controller):
    """Pages of the signed-in member, who is the ``member`` dependency."""

    guards = [requires_login]
    dependencies = {"member": Provide(provide_member)}


def session_member(request: Request[Any, Any, Any], refusal: str | Msg = SIGN_IN) -> int:
    """The id the session was signed in with, not checked against the database (a crowd's posts
    cost no database work); without one, 401 with ``refusal``."""
    member_id = session_member_id(request)
    if member_id is None:
        raise NotAuthorizedException(str(refusal))
    return member_id


async def refuse_signed_out(request: Request[Any, Any, Any]) -> NoReturn:
    """The member of the session may no longer sign in: sign them out, tell them why, and 401."""
    await current_member(request)  # signs the session out and tells them why
    raise NotAuthorizedException(str(SIGN_IN))


def flash_redirect(request: Request[Any, Any, Any], message: str, kind: str, url: str) -> Redirect:
    """Tell the member ``message`` (``success``, ``error`` or ``info``) on the page at ``url``."""
    flash(request, message, kind)
    return Redirect(url, status_code=303)


async def list_page(
    request: Request[Any, Any, Any],
    template: str,
    query: Callable[..., Awaitable[dict[str, Any]]],
    *args: Any,
    page: str | None,
) -> Template:
    """A paged list: ``query(*args, number, size)`` gives the context of ``template``."""
    return render(request, template, await query(*args, *wanted(request, page)))


async def act(
    request: Request[Any, Any, Any],
    action: Awaitable[T],
    done: Callable[[T], str],
    url: str,
    *,
    refused_url: str | None = None,
    invalid: Callable[[FormInvalid], Awaitable[R]] | None = None,
) -> R | Redirect:
    """Run a form post's ``action``: done, ``done(result)`` is the success message on the page at
    ``url``; refused (a domain error), its message is the error on ``refused_url`` (or ``url``) —
    but a form with errors is shown again by ``invalid`` when there is one."""
    try:
        result = await action
    except DomainError as exc:
        if invalid is not None and isinstance(exc, FormInvalid):
            return await invalid(exc)
        return flash_redirect(request, exc.message, "error", refused_url or url)
    return flash_redirect(request, done(result), "success", url)


class AdminPages(Controller):
    """Pages only administrators may see."""

    guards = [requires_admin]


class ModerationPages(AdminPages):
    """An admin's pages of one kind of thing (``{path}/{id}``) with actions that take a reason:
    the service's ``action(id, admin, reason)`` (the signed-in administrator is ``admin``); a refused
    reason shows the page again."""

    # The thing's page: (request, moderation service, id, status code, **more context).
    _detail: Callable[..., Awaitable[Template]]

    def _done(self, action: str, target: Any) -> str:
        """The success message of ``action`` on ``target``."""
        raise NotImplementedError

    async def _moderate(
        self, request: HTMXRequest, moderation: Any, target_id: int, admin: Member, action: str
    ) -> Template | Redirect:
        reason = (await read_form(request)).get("reason", "")

        async def again(exc: FormInvalid) -> Template:
            extra = {"values": {"reason": reason}, "errors": exc.errors, "message": exc.message, "failed": action}
            return await self._detail(request, moderation, target_id, 422, **extra)

        change = getattr(moderation, action)(target_id, admin, reason)
        done = functools.partial(self._done, action)
        return await act(request, change, done, f"{self.path}/{target_id}", invalid=again)


def moderation_page(name: str) -> HTTPRouteHandler:
    """The ``GET {path}/{id}`` page of a :class:`ModerationPages`: its ``_detail``."""

    async def detail(
        self: ModerationPages, request: HTMXRequest, target_id: FromPath[int], moderation: NamedDependency[Any]
    ) -> Template:
        return await self._detail(request, moderation, target_id, 200)

    return get("/{target_id:int}", name=name)(detail)


def moderation_action(action: str, name: str) -> HTTPRouteHandler:
    """The ``POST {path}/{id}/{action}`` handler of a :class:`ModerationPages`."""

    async def handler(
        self: ModerationPages,
        request: HTMXRequest,
        target_id: FromPath[int],
        admin: NamedDependency[Member],
        moderation: NamedDependency[Any],
    ) -> Template | Redirect:
        return await self._moderate(request, moderation, target_id, admin, action)

    handler.__name__ = handler.__qualname__ = action
    return post(f"/{{target_id:int}}/{action}", name=name, dependencies={"admin": Provide(provide_member)})(handler)


def member_list(
    name: str, template: str, query: Callable[[AsyncSession, int, int, int], Awaitable[dict[str, Any]]]
) -> HTTPRouteHandler:
    """The ``GET /`` handler of a list of the member's own things (``?page=``): ``query(db,
    member id, number, size)`` gives the context of ``template``."""

    async def index(
        self: Controller,
        request: HTMXRequest,
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
        page: FromQuery[str | None] = None,
    ) -> Template:
        return await list_page(request, template, query, db, member.id, page=page)

    return get("/", name=name)(index)


def with_db(service: Callable[[AsyncSession], T]) -> Provide:
    """A dependency: ``service`` built on the request's database session."""

    async def provide(db: NamedDependency[AsyncSession]) -> Any:
        return service(db)

    return Provide(provide)


class SellerPages(Controller):
    """Pages of the signed-in seller, who is the ``member`` dependency."""

    guards = [requires_seller]
    dependencies = {"member": Provide(provide_member)}
