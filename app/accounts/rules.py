"""Pure rules for member data and member status. No I/O (the list of common passwords is read
once, from the package)."""

from __future__ import annotations

import re
import unicodedata

from app.accounts.common_passwords import is_common
from app.accounts.name_rules import RESERVED_MESSAGE, is_reserved
from app.core.generations import session_current as session_current  # the accounts speak of it too
from app.core.i18n import _
from app.core.states import StateMachine
from app.core.text import length_error
from app.models.members import MemberStatus

PASSWORD_MIN = 10
PASSWORD_MAX = 256
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 60
# An email's name part or a display name this long or longer may not be inside a password.
PERSONAL_MIN = 3
REASON_MAX = 500

_EMAIL_RE = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)

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
    if err := length_error(email, EMAIL_MAX, blank=_("Enter your email address."), what=_("An email address")):
        return err
    return None if _EMAIL_RE.match(email) else _("Enter a valid email address, like name@example.com.")


def password_error(password: str, *, email: str = "", display_name: str = "") -> str | None:
    """Why ``password`` may not be a member's (None: it may). Every form that sets a password
    (sign-up, password change, reset) asks this, with the member's email and display name."""
    if len(password) < PASSWORD_MIN:
        return _("Use at least %(most)d characters.", most=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _("Use at most %(most)d characters.", most=PASSWORD_MAX)
    folded = password.casefold()
    email = email.strip().casefold()
    local = email.split("@", 1)[0]
    if email and (email in folded or (len(local) >= PERSONAL_MIN and local in folded)):
        return _("Your password cannot contain your email address.")
    name = display_name.strip().casefold()
    if len(name) >= PERSONAL_MIN and (name in folded or name.replace(" ", "") in folded):
        return _("Your password cannot contain your display name.")
    if is_common(password):
        return _("This is one of the most common passwords, the first ones attackers try. Choose another.")
    return None


def overlong_password_error(password: str) -> str | None:
    """A password no account can have (longer than any the shop accepts): said plainly, never hashed."""
    if len(password) > PASSWORD_MAX:
        return _(
            "A password has at most %(most)d characters; this one has %(count)s. Check what was pasted.",
            most=PASSWORD_MAX,
            count=f"{len(password):,}",
        )
    return None


def new_password_errors(
    password: str, confirm: str, *, email: str, display_name: str, field: str = "password"
) -> dict[str, str]:
    """The errors of a new password and its confirmation, under ``field`` and ``field``_confirm."""
    if err := password_error(password, email=email, display_name=display_name):
        return {field: err}
    if password != confirm:
        return {f"{field}_confirm": _("The two passwords differ.")}
    return {}


def display_name_error(name: str, *, staff: bool = False) -> str | None:
    """Why ``name`` (as cleaned by ``name_rules.clean_display_name``) may not be a display name;
    only ``staff`` may take a name that speaks for the shop."""
    if err := length_error(name, DISPLAY_NAME_MAX, blank=_("Enter a display name."), what=_("A display name")):
        return err
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return _("A display name cannot contain control characters.")
    return str(RESERVED_MESSAGE) if not staff and is_reserved(name) else None


def reason_error(reason: str, *, required: bool = True) -> str | None:
    if required and not reason:
        return _("Give a reason.")
    if len(reason) > REASON_MAX:
        return _("A reason has at most %(most)d characters.", most=REASON_MAX)
    return None


def signup_errors(
    email: str, display_name: str, password: str, password_confirm: str, *, staff: bool = False
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if err := email_error(email):
        errors["email"] = err
    if err := display_name_error(display_name, staff=staff):
        errors["display_name"] = err
    errors.update(new_password_errors(password, password_confirm, email=email, display_name=display_name))
    return errors


def login_delay(failures: int, *, free: int, base: float, maximum: float) -> float:
    """How long a sign-in waits, in seconds, for an email with ``failures`` refused passwords (and
    attempts in flight) in the window: nothing for the first ``free``, then ``base`` doubling with
    each further one, never more than ``maximum``."""
    if failures < free or base <= 0:
        return 0.0
    return float(min(maximum, base * 2 ** min(failures - free, 30)))


def safe_next_url(raw: str | None, default: str = "/") -> str:
    """Only local paths: ``/orders`` yes; ``//evil.test``, ``https://…``, ``/\\evil`` no."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or raw.startswith("/\\"):
        return default
    if any(ch in raw for ch in "\r\n\t\\") or len(raw) > 2000:
        return default
    return raw
