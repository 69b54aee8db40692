"""Forgot password: ask for a link (``/password/forgot``), then set a new password through it
(``/password/reset/{token}``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.identity import forget_member
from app.accounts.resets import LinkInvalid, PasswordResets
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.web.forms import read_form
from app.web.services import Services
from app.web.templating import page


async def provide_resets(db: NamedDependency[AsyncSession], services: NamedDependency[Services]) -> PasswordResets:
    return PasswordResets(db, services.hasher)


def _invalid(request: HTMXRequest, exc: LinkInvalid) -> Template:
    return page(request, "accounts/reset_invalid.html", {"message": exc.message}, status_code=410)


class PasswordResetController(Controller):
    path = "/password"
    dependencies = {"resets": Provide(provide_resets)}

    @get("/forgot", name="password_forgot")
    async def forgot_form(self, request: HTMXRequest) -> Template:
        return page(request, "accounts/forgot.html", {"values": {}, "errors": {}})

    @post("/forgot")
    async def forgot(self, request: HTMXRequest, resets: NamedDependency[PasswordResets]) -> Template | Redirect:
        form = await read_form(request)
        try:
            await resets.ask(form.get("email", ""))
        except FormInvalid as exc:
            context = {"values": {"email": form.get("email", "")}, "errors": exc.errors}
            return page(request, "accounts/forgot.html", context, status_code=422)
        return Redirect("/password/forgot/sent", status_code=303)  # the same answer for every address

    @get("/forgot/sent", name="password_forgot_sent")
    async def sent(self, request: HTMXRequest) -> Template:
        return page(request, "accounts/forgot_sent.html")

    @get("/reset/{token:str}", name="password_reset")
    async def reset_form(
        self, request: HTMXRequest, token: FromPath[str], resets: NamedDependency[PasswordResets]
    ) -> Template:
        try:
            await resets.open_link(token)
        except LinkInvalid as exc:
            return _invalid(request, exc)
        return page(request, "accounts/reset.html", {"token": token, "errors": {}})

    @post("/reset/{token:str}")
    async def reset(
        self, request: HTMXRequest, token: FromPath[str], resets: NamedDependency[PasswordResets]
    ) -> Template | Redirect:
        form = await read_form(request)
        try:
            await resets.use_link(token, form.get("password", ""), form.get("password_confirm", ""))
        except LinkInvalid as exc:
            return _invalid(request, exc)
        except FormInvalid as exc:
            context: dict[str, Any] = {"token": token, "errors": exc.errors}
            return page(request, "accounts/reset.html", context, status_code=422)
        forget_member(request)  # every session of the member ended, this one too
        flash(
            request, _("Your password was changed and you were signed out everywhere. Sign in with it now."), "success"
        )
        return Redirect("/login", status_code=303)
