"""Sign-up, login, logout and the member's own page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import rules
from app.accounts.guards import provide_member, requires_login
from app.accounts.identity import current_member, sign_in, sign_out
from app.accounts.service import AccountService, LoginRefused, WrongPassword
from app.accounts.throttle import Throttled
from app.core.errors import FormInvalid
from app.models.members import Member
from app.web.forms import read_form
from app.web.services import Services
from app.web.templating import page


async def provide_accounts(db: NamedDependency[AsyncSession], services: NamedDependency[Services]) -> AccountService:
    return AccountService(db, services.hasher)


def client_address(request: HTMXRequest) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    dependencies = {"accounts": Provide(provide_accounts)}

    @get("/signup", name="signup")
    async def signup_form(self, request: HTMXRequest, next: FromQuery[str | None] = None) -> Template | Redirect:
        if await current_member(request):
            return Redirect(rules.safe_next_url(next), status_code=303)
        return page(request, "accounts/signup.html", {"values": {}, "errors": {}, "next": next or ""})

    @post("/signup")
    async def signup(self, request: HTMXRequest, accounts: NamedDependency[AccountService]) -> Template | Redirect:
        form = await read_form(request)
        try:
            member = await accounts.sign_up(
                form.get("email", ""),
                form.get("display_name", ""),
                form.get("password", ""),
                form.get("password_confirm", ""),
            )
        except FormInvalid as exc:
            values = {k: v for k, v in form.items() if "password" not in k}
            context = {
                "values": values,
                "errors": exc.errors,
                "message": exc.message,
                "next": form.get("next", ""),
            }
            return page(request, "accounts/signup.html", context, status_code=422)
        sign_in(request, member)
        flash(request, f"Welcome to Smore, {member.display_name}!", "success")
        return Redirect(rules.safe_next_url(form.get("next")), status_code=303)

    @post("/signup/check-email", name="signup_check_email")
    async def check_email(self, request: HTMXRequest, accounts: NamedDependency[AccountService]) -> Template:
        """Inline validation of the email field while the member types (HTMX)."""
        form = await read_form(request)
        email = rules.normalise_email(form.get("email", ""))
        error = rules.email_error(email)
        if error is None and await accounts.email_taken(email):
            error = "An account with this email already exists. Sign in instead?"
        return Template(template_name="_partials/field_error.html", context={"name": "email", "error": error})

    @get("/login", name="login")
    async def login_form(self, request: HTMXRequest, next: FromQuery[str | None] = None) -> Template | Redirect:
        if await current_member(request):
            return Redirect(rules.safe_next_url(next), status_code=303)
        return page(request, "accounts/login.html", {"values": {}, "errors": {}, "next": next or ""})

    @post("/login")
    async def login(
        self, request: HTMXRequest, accounts: NamedDependency[AccountService], services: NamedDependency[Services]
    ) -> Template | Redirect:
        form = await read_form(request)
        email = rules.normalise_email(form.get("email", ""))
        throttle = services.login_throttle
        address = client_address(request)
        context: dict[str, Any] = {
            "values": {"email": form.get("email", "")},
            "errors": {},
            "next": form.get("next", ""),
        }
        try:
            # only a wrong password counts; a server error gives the attempt back
            async with throttle.attempt(email, address, failure=WrongPassword):
                member = await accounts.authenticate(email, form.get("password", ""))
        except Throttled:
            context["message"] = "Too many failed sign-in attempts. Please wait 15 minutes and try again."
            return page(request, "accounts/login.html", context, status_code=429)
        except LoginRefused as exc:
            context["message"] = exc.message
            return page(request, "accounts/login.html", context, status_code=400)
        sign_in(request, member)
        flash(request, f"Signed in as {member.display_name}.", "success")
        return Redirect(rules.safe_next_url(form.get("next")), status_code=303)

    @post("/logout", name="logout")
    async def logout(self, request: HTMXRequest) -> Redirect:
        sign_out(request)
        return Redirect("/", status_code=303)


class MeController(Controller):
    path = "/me"
    guards = [requires_login]
    dependencies = {"accounts": Provide(provide_accounts), "member": Provide(provide_member)}

    def _page(
        self, request: HTMXRequest, member: NamedDependency[Member], status_code: int = 200, **extra: Any
    ) -> Template:
        context: dict[str, Any] = {
            "profile_values": {"display_name": member.display_name},
            "profile_errors": {},
            "password_errors": {},
        }
        context.update(extra)
        return page(request, "accounts/me.html", context, status_code=status_code)

    @get("/", name="me")
    async def show(self, request: HTMXRequest, member: NamedDependency[Member]) -> Template:
        return self._page(request, member)

    @post("/")
    async def update(
        self, request: HTMXRequest, member: NamedDependency[Member], accounts: NamedDependency[AccountService]
    ) -> Any:
        form = await read_form(request)
        try:
            await accounts.update_profile(member, form.get("display_name", ""))
        except FormInvalid as exc:
            return self._page(
                request,
                member,
                422,
                profile_values={"display_name": form.get("display_name", "")},
                profile_errors=exc.errors,
            )
        flash(request, "Your profile was saved.", "success")
        return Redirect("/me", status_code=303)

    @post("/password", name="me_password")
    async def change_password(
        self, request: HTMXRequest, member: NamedDependency[Member], accounts: NamedDependency[AccountService]
    ) -> Any:
        form = await read_form(request)
        try:
            await accounts.change_password(
                member,
                form.get("old_password", ""),
                form.get("new_password", ""),
                form.get("new_password_confirm", ""),
            )
        except FormInvalid as exc:
            return self._page(request, member, 422, password_errors=exc.errors)
        flash(request, "Your password was changed.", "success")
        return Redirect("/me", status_code=303)

    @get("/withdraw", name="me_withdraw")
    async def withdraw_form(self, request: HTMXRequest) -> Template:
        return page(request, "accounts/withdraw.html", {"errors": {}})

    @post("/withdraw")
    async def withdraw(
        self, request: HTMXRequest, member: NamedDependency[Member], accounts: NamedDependency[AccountService]
    ) -> Any:
        form = await read_form(request)
        try:
            await accounts.withdraw(member, form.get("password", ""), form.get("confirm") == "yes")
        except FormInvalid as exc:
            return page(request, "accounts/withdraw.html", {"errors": exc.errors}, status_code=422)
        sign_out(request)
        return Redirect("/goodbye", status_code=303)


@get("/goodbye", name="goodbye")
async def goodbye(request: HTMXRequest) -> Template:
    return page(request, "accounts/goodbye.html")
