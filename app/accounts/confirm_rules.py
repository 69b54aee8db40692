"""Pure rules of the link that confirms a member's email address: the signed, expiring token it
carries (bound to the member and to the address it was mailed to, so a changed address needs a new
link), and how long a member waits before another link is mailed. No I/O.

A token is ``base64url(payload) + "." + base64url(HMAC-SHA256(key, payload))``, the payload being
``"<member id>:<expiry, Unix seconds>:<address digest>"``. The key is derived from the shop's
secret for this use alone, so no other signed value of the shop reads as a confirmation. Using a
link twice is harmless (the address stays confirmed once), so the token needs no nonce."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

TOKEN_MAX = 200  # far above any token signed here; a longer one is refused before any work
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PAYLOAD_RE = re.compile(r"([1-9][0-9]{0,17}):([0-9]{1,12}):([0-9a-f]{32})")
_PURPOSE = b"smore email confirmation v1"


class LinkProblem(StrEnum):
    """Why a token confirms nothing: not one the shop signed (malformed, tampered, another
    secret's), or signed but past its expiry."""

    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Confirmation:
    member_id: int
    address: str  # ``address_digest`` of the email it was mailed to
    expires_at: datetime  # aware; whole seconds


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment


def signing_key(secret: str) -> bytes:
    """The key confirmation tokens are signed with, derived from the shop's ``secret``."""
    if not secret:
        raise ValueError("a confirmation link needs the shop's secret to be signed with")
    return hmac.new(secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()


def address_digest(email: str) -> str:
    """A short digest of ``email`` as the shop compares addresses (without case): the token names
    the address without spelling it out in a URL."""
    return hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """The bytes of unpadded base64url ``text``, or None unless it is their one canonical spelling."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def sign_confirmation(key: bytes, member_id: int, email: str, expires_at: datetime) -> str:
    """The token of a link confirming ``email`` for member ``member_id`` until ``expires_at``
    (truncated to the second, so a link never lives longer than asked)."""
    if member_id <= 0:
        raise ValueError("a confirmation names a member")
    expires = int(_aware(expires_at, "expires_at").timestamp())
    payload = f"{member_id}:{expires}:{address_digest(email)}".encode("ascii")
    return f"{_b64encode(payload)}.{_b64encode(_mac(key, payload))}"


def read_confirmation(key: bytes, token: object, now: datetime) -> Confirmation | LinkProblem:
    """What ``token`` confirms, when the shop signed it with ``key`` and it has not expired at
    ``now``; else why not. Never raises on the token."""
    _aware(now, "now")
    if not isinstance(token, str) or len(token) > TOKEN_MAX or not _TOKEN_RE.fullmatch(token):
        return LinkProblem.INVALID
    encoded_payload, encoded_mac = token.split(".")
    payload, mac = _b64decode(encoded_payload), _b64decode(encoded_mac)
    if payload is None or mac is None or not hmac.compare_digest(mac, _mac(key, payload)):
        return LinkProblem.INVALID
    match = _PAYLOAD_RE.fullmatch(payload.decode("ascii", "replace"))
    if match is None:
        return LinkProblem.INVALID
    try:
        expires_at = datetime.fromtimestamp(int(match[2]), UTC)
    except (OverflowError, OSError, ValueError):
        return LinkProblem.INVALID
    if now >= expires_at:
        return LinkProblem.EXPIRED
    return Confirmation(member_id=int(match[1]), address=match[3], expires_at=expires_at)


def confirms_address(confirmation: Confirmation, email: str) -> bool:
    """The link was mailed to ``email`` (the member's address now): a link to an address the member
    no longer has confirms nothing."""
    return hmac.compare_digest(confirmation.address, address_digest(email))


def resend_wait(last_sent: datetime | None, now: datetime, interval: timedelta) -> int:
    """Whole seconds the member waits before another link may be mailed (0: now), when the last one
    was mailed at ``last_sent`` (None: never) and links go at most once per ``interval``."""
    _aware(now, "now")
    if last_sent is None:
        return 0
    left = (_aware(last_sent, "last_sent") + interval - now).total_seconds()
    return max(0, math.ceil(left))
