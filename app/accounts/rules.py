"""Pure rules for member data and member status. No I/O."""

from __future__ import annotations

import re

from app.core.states import StateMachine
from app.core.text import length_error
from app.models.members import MemberStatus

PASSWORD_MIN = 10
PASSWORD_MAX = 256
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 60
REASON_MAX = 500

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")

MEMBER_STATUS = StateMachine[MemberStatus](
    "member status",
    {
        MemberStatus.ACTIVE: {MemberStatus.SUSPENDED, MemberStatus.WITHDRAWN},
        MemberStatus.SUSPENDED: {MemberStatus.ACTIVE},
        MemberStatus.WITHDRAWN: set(),
    },
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_error(email: str) -> str | None:
    if err := length_error(email, EMAIL_MAX, blank="Enter your email address.", what="An email address"):
        return err
    return None if _EMAIL_RE.match(email) else "Enter a valid email address, like name@example.com."


def password_error(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    return None


def display_name_error(name: str) -> str | None:
    if err := length_error(name, DISPLAY_NAME_MAX, blank="Enter a display name.", what="A display name"):
        return err
    return "A display name cannot contain control characters." if any(ord(ch) < 32 for ch in name) else None


def reason_error(reason: str, *, required: bool = True) -> str | None:
    if required and not reason:
        return "Give a reason."
    if len(reason) > REASON_MAX:
        return f"A reason has at most {REASON_MAX} characters."
    return None


def signup_errors(email: str, display_name: str, password: str, password_confirm: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if err := email_error(email):
        errors["email"] = err
    if err := display_name_error(display_name):
        errors["display_name"] = err
    if err := password_error(password):
        errors["password"] = err
    elif password != password_confirm:
        errors["password_confirm"] = "The two passwords differ."
    return errors


def safe_next_url(raw: str | None, default: str = "/") -> str:
    """Only local paths: ``/orders`` yes; ``//evil.test``, ``https://…``, ``/\\evil`` no."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or raw.startswith("/\\"):
        return default
    if any(ch in raw for ch in "\r\n\t\\") or len(raw) > 2000:
        return default
    return raw
