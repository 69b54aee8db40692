"""The link that confirms a member's email address: ``GET /account/confirm?token=…`` shows a page
whose button posts the confirmation to ``POST /account/confirm`` (opening a link changes nothing:
mail scanners open links). Either works signed in, as anyone, or signed out."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.confirm_rules import LinkProblem
from app.accounts.confirmations import EmailConfirmations, LinkRefused
from app.accounts.identity import session_member_id
from app.core.i18n import _
from app.web.forms import read_form
from app.web.pages import flash_redirect
from app.web.params import Query
from app.web.templating import page

Confirmations = NamedDependency[EmailConfirmations]


async def provide_confirmations(db: NamedDependency[AsyncSession]) -> EmailConfirmations:
    return EmailConfirmations(db)


def _refused(request: HTMXRequest, exc: LinkRefused) -> Template:
    """The link confirms nothing: why, and the way to a new one (410 once expired, else 400)."""
    status = 410 if exc.problem is LinkProblem.EXPIRED else 400
    return page(request, "accounts/confirm_invalid.html", {"message": exc.message}, status_code=status)


class EmailConfirmController(Controller):
    path = "/account/confirm"
    dependencies = {"confirmations": Provide(provide_confirmations)}

    @get("/", name="email_confirm")
    async def show(self, request: HTMXRequest, confirmations: Confirmations, token: Query = None) -> Template:
        try:
            member = await confirmations.open_link(token or "")
        except LinkRefused as exc:
            return _refused(request, exc)
        context = {"token": token, "email": member.email, "confirmed": member.email_confirmed_at is not None}
        return page(request, "accounts/confirm.html", context)

    @post("/")
    async def confirm(self, request: HTMXRequest, confirmations: Confirmations) -> Template | Redirect:
        form = await read_form(request)
        try:
            member, newly = await confirmations.confirm(form.get("token", ""))
        except LinkRefused as exc:
            return _refused(request, exc)
        if not newly:
            return page(request, "accounts/confirm.html", {"token": "", "email": member.email, "confirmed": True})
        signed_in_as = session_member_id(request)
        url = "/me" if signed_in_as == member.id else "/login" if signed_in_as is None else "/"
        message = _("Thank you: %(email)s is confirmed.", email=member.email)
        return flash_redirect(request, message, "success", url)
