"""Sign-up, login, logout and the member's own page."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from markupsafe import Markup

from app.accounts import rules
from app.accounts.confirm_pages import Confirmations, provide_confirmations
from app.accounts.confirmations import AlreadyConfirmed, TooSoon
from app.accounts.guards import provide_member, requires_login
from app.accounts.identity import current_member, sign_in, sign_out
from app.accounts.limits import EMAIL_CHECK_LIMIT, SIGNUP_LIMIT
from app.accounts.name_rules import clean_display_name
from app.accounts.service import EMAIL_TAKEN, AccountService, LoginRefused, WrongPassword
from app.accounts.throttle import Throttled
from app.core.errors import FormInvalid
from app.core.i18n import (
    LANGUAGE_NAMES,
    Msg,
    _,
    current_language,
    current_zone_name,
    ngettext,
    using,
    zone_choices,
)
from app.models.base import utcnow
from app.models.members import Member
from app.web.admission import wait_outside
from app.web.forms import read_form
from app.web.pages import flash_redirect
from app.web.params import AppServices, DbSession, Query, SignedIn
from app.web.templating import page

Accounts = NamedDependency[AccountService]

THROTTLED = Msg("Too many failed sign-in attempts from your network. Please wait %(minutes)s minutes and try again.")
SLOWED = Msg("After several failed attempts, signing in to this account waits a few seconds.")


def taken_error() -> Markup:
    """The email is taken: the sentence with its way to the sign-in page."""
    return Markup('{} <a href="/login">{}</a>').format(
        _("An account with this email already exists."), _("Sign in instead?")
    )


# The sign-up fields checked while they are typed (besides the email, which has its own check).
CHECKED_FIELDS = ("display_name", "password", "password_confirm")


def field_check(form: dict[str, str], name: str) -> tuple[str | None, dict[str, str | None]]:
    """The error of sign-up field ``name`` as typed so far (None: none), and those of the fields it
    decides too (a new password decides whether the repetition still matches it)."""
    email = rules.normalise_email(form.get("email", ""))
    display_name = clean_display_name(form.get("display_name", ""))
    password, confirm = form.get("password", ""), form.get("password_confirm", "")
    if name == "display_name":
        return rules.display_name_error(display_name), {}
    mismatch = _("The two passwords differ.") if confirm and password != confirm else None
    if name == "password":
        return rules.password_error(password, email=email, display_name=display_name), {"password_confirm": mismatch}
    return mismatch, {}


async def provide_accounts(db: DbSession, services: AppServices) -> AccountService:
    return AccountService(db, services.hasher)


def client_address(request: HTMXRequest) -> str:
    return request.client.host if request.client else "unknown"


async def _entry_form(request: HTMXRequest, template: str, next: str | None) -> Template | Redirect:
    """The sign-up or login form; a member already signed in goes on to ``next``."""
    if await current_member(request):
        return Redirect(rules.safe_next_url(next), status_code=303)
    return page(request, template, {"values": {}, "errors": {}, "next": next or ""})


def _signed_in(request: HTMXRequest, member: Member, welcome: str, form: dict[str, str]) -> Redirect:
    """``member`` is signed in: ``welcome`` on the page the form's ``next`` names."""
    sign_in(request, member)
    return flash_redirect(request, welcome, "success", rules.safe_next_url(form.get("next")))


class AuthController(Controller):
    dependencies = {"accounts": Provide(provide_accounts)}

    @get("/signup", name="signup")
    async def signup_form(self, request: HTMXRequest, next: Query = None) -> Template | Redirect:
        return await _entry_form(request, "accounts/signup.html", next)

    @post("/signup", middleware=[SIGNUP_LIMIT])
    async def signup(self, request: HTMXRequest, accounts: Accounts) -> Template | Redirect:
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
            if exc.errors.get("email") == str(EMAIL_TAKEN):
                exc.errors["email"] = taken_error()
            context = {
                "values": values,
                "errors": exc.errors,
                "message": exc.message,
                "next": form.get("next", ""),
            }
            return page(request, "accounts/signup.html", context, status_code=422)
        return _signed_in(request, member, _("Welcome to Smore, %(name)s!", name=member.display_name), form)

    @post("/signup/check-email", name="signup_check_email", middleware=[EMAIL_CHECK_LIMIT])
    async def check_email(self, request: HTMXRequest, accounts: Accounts) -> Template:
        """Inline validation of the email field while the member types (HTMX)."""
        form = await read_form(request)
        email = rules.normalise_email(form.get("email", ""))
        error = rules.email_error(email)
        if error is None and await accounts.email_taken(email):
            error = taken_error()
        # no error: an empty paragraph replaces the stale one
        return Template(template_name="_partials/field_error.html", context={"name": "email", "error": error or ""})

    @post("/signup/check/{name:str}", name="signup_check_field", middleware=[EMAIL_CHECK_LIMIT])
    async def check_field(self, request: HTMXRequest, name: FromPath[str]) -> Template:
        """Inline validation of another sign-up field while it is typed (HTMX): its error, or an
        empty paragraph once it is corrected (and the repetition's, when the password changes)."""
        form = await read_form(request)
        if name not in CHECKED_FIELDS:
            return Template(template_name="_partials/field_error.html", context={"name": "field", "error": ""})
        error, also = field_check(form, name)
        context = {"name": name, "error": error or "", "also": also}
        return Template(template_name="_partials/field_error.html", context=context)

    @get("/login", name="login")
    async def login_form(self, request: HTMXRequest, next: Query = None) -> Template | Redirect:
        return await _entry_form(request, "accounts/login.html", next)

    @post("/login")
    async def login(self, request: HTMXRequest, accounts: Accounts, services: AppServices) -> Template | Redirect:
        form = await read_form(request)
        email = rules.normalise_email(form.get("email", ""))
        context: dict[str, Any] = {
            "values": {"email": form.get("email", "")},
            "errors": {},
            "next": form.get("next", ""),
        }
        waited = 0.0
        try:
            # only a wrong password counts; a server error gives the attempt back
            attempt = services.login_throttle.attempt(
                email, client_address(request), failure=WrongPassword, wait=partial(wait_outside, request.scope)
            )
            async with attempt as waited:
                member = await accounts.authenticate(email, form.get("password", ""))
        except Throttled:
            minutes = max(1, services.settings.login_failure_window_seconds // 60)
            context["message"] = _(THROTTLED.message, minutes=minutes)
            return page(request, "accounts/login.html", context, status_code=429)
        except LoginRefused as exc:
            context["message"] = exc.message + (" " + str(SLOWED) if waited else "")
            return page(request, "accounts/login.html", context, status_code=400)
        return _signed_in(request, member, _("Signed in as %(name)s.", name=member.display_name), form)

    @post("/logout", name="logout")
    async def logout(self, request: HTMXRequest) -> Redirect:
        sign_out(request)
        return Redirect("/", status_code=303)


class MeController(Controller):
    path = "/me"
    guards = [requires_login]
    dependencies = {
        "accounts": Provide(provide_accounts),
        "confirmations": Provide(provide_confirmations),
        "member": Provide(provide_member),
    }

    def _page(self, request: HTMXRequest, member: Member, status_code: int = 200, **extra: Any) -> Template:
        context: dict[str, Any] = {
            "confirm_error": "",
            "profile_values": {"display_name": member.display_name},
            "profile_errors": {},
            "password_errors": {},
            "place_values": {"language": member.language or current_language(), "time_zone": current_zone_name()},
            "place_errors": {},
            "languages": list(LANGUAGE_NAMES.items()),
            "zones": [(zone, zone.replace("_", " ")) for zone in zone_choices()],
            "current_zone": current_zone_name(),
            "now": utcnow(),
        }
        context.update(extra)
        return page(request, "accounts/me.html", context, status_code=status_code)

    @get("/", name="me")
    async def show(self, request: HTMXRequest, member: SignedIn) -> Template:
        return self._page(request, member)

    @post("/")
    async def update(self, request: HTMXRequest, member: SignedIn, accounts: Accounts) -> Template | Redirect:
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
        return flash_redirect(request, _("Your profile was saved."), "success", "/me")

    @get("/place", name="me_place")
    async def place_page(self) -> Redirect:
        """The language and time zone form lives on /me (a refresh after a refused post lands there)."""
        return Redirect("/me", status_code=303)

    @post("/place")
    async def set_place(self, request: HTMXRequest, member: SignedIn, accounts: Accounts) -> Template | Redirect:
        form = await read_form(request)
        try:
            await accounts.set_place(member, form.get("language", ""), form.get("time_zone", ""))
        except FormInvalid as exc:
            return self._page(request, member, 422, place_errors=exc.errors)
        with using(member.language, member.time_zone):
            saved = _("Your language and time zone were saved.")
        return flash_redirect(request, saved, "success", "/me")

    @get("/password", name="me_password_page")
    async def password_page(self) -> Redirect:
        return Redirect("/me", status_code=303)

    @get("/emails", name="me_emails_page")
    async def emails_page(self) -> Redirect:
        return Redirect("/me", status_code=303)

    @post("/password", name="me_password")
    async def change_password(self, request: HTMXRequest, member: SignedIn, accounts: Accounts) -> Template | Redirect:
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
        sign_in(request, member)  # this browser stays signed in, under a new session id
        return flash_redirect(
            request, _("Your password was changed. Every other device was signed out."), "success", "/me"
        )

    @post("/emails", name="me_emails")
    async def emails(self, request: HTMXRequest, member: SignedIn, accounts: Accounts) -> Redirect:
        on = (await read_form(request)).get("email_notices") == "yes"
        await accounts.set_email_notices(member, on)
        return flash_redirect(
            request, _("Auction emails are on.") if on else _("Auction emails are off."), "success", "/me"
        )

    @get("/confirmation", name="me_confirmation_page")
    async def confirmation_page(self) -> Redirect:
        return Redirect("/me", status_code=303)

    @post("/confirmation", name="me_confirmation")
    async def resend_confirmation(
        self, request: HTMXRequest, member: SignedIn, confirmations: Confirmations
    ) -> Template | Redirect:
        """Mail the link that confirms the member's address again (at most once a minute)."""
        try:
            hours = await confirmations.resend(member)
        except AlreadyConfirmed as exc:
            return flash_redirect(request, exc.message, "info", "/me")
        except TooSoon as exc:
            refused = self._page(request, member, 429, confirm_error=exc.message)
            refused.headers["Retry-After"] = str(exc.seconds)
            return refused
        sent = ngettext(
            "We mailed a new link to %(email)s. It works for %(num)s hour.",
            "We mailed a new link to %(email)s. It works for %(num)s hours.",
            hours,
            email=member.email,
        )
        return flash_redirect(request, sent, "success", "/me")

    @get("/withdraw", name="me_withdraw")
    async def withdraw_form(self, request: HTMXRequest) -> Template:
        return page(request, "accounts/withdraw.html", {"errors": {}})

    @post("/withdraw")
    async def withdraw(self, request: HTMXRequest, member: SignedIn, accounts: Accounts) -> Template | Redirect:
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
