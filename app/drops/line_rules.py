"""Pure rules of a waiting room: the order of the line (those who joined before the start in a
seeded random order, later arrivals behind them in order of arrival), how many places the rate has
let in, the wait a place can expect, who to admit now, the signed admission a member is let in
with (single use, time-limited, bound to member and product), and whether a press may go in on one
(``entry``). No I/O.

Single use is kept by the database, which stores each admission's nonce; these rules only make and
check the token."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum, auto

from app.drops.draw_rules import rank_key

_MICROSECONDS_PER_MINUTE = 60_000_000
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_PAYLOAD_RE = re.compile(r"(-?[0-9]+):(-?[0-9]+):(-?[0-9]+):(.+)", re.DOTALL)


def _aware(moment: datetime, name: str) -> datetime:
    """``moment`` itself, refusing a naive time (it would compare wrongly or not at all)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware time")
    return moment


def _check_rate(rate_per_minute: int) -> None:
    if rate_per_minute < 1:
        raise ValueError("the rate must be at least one admission a minute")


@dataclass(frozen=True)
class Joined:
    member_id: int
    joined_at: datetime  # aware, UTC


def line_order(seed: str, joined: Iterable[Joined], start: datetime) -> list[int]:
    """Member ids in line order: those who joined before ``start`` first, shuffled by the seed
    (ordered by ``(rank_key(seed, member_id), member_id)``, as a draw orders entries), then those
    who joined at or after ``start`` by ``(joined_at, member_id)``."""
    _aware(start, "start")
    people = list(joined)
    if len({person.member_id for person in people}) != len(people):
        raise ValueError("a member appears more than once in the line")
    early = [p.member_id for p in people if _aware(p.joined_at, "joined_at") < start]
    late = sorted((p for p in people if p.joined_at >= start), key=lambda p: (p.joined_at, p.member_id))
    early.sort(key=lambda member_id: (rank_key(seed, member_id), member_id))
    return early + [p.member_id for p in late]


def admitted_by(start: datetime, rate_per_minute: int, now: datetime) -> int:
    """How many places the rate has let in by ``now``: the first at ``start`` itself, then one
    every ``60 / rate`` seconds, i.e. ``floor(elapsed seconds * rate / 60) + 1``, counted in whole
    microseconds so that no rounding moves a boundary; 0 before the start."""
    _check_rate(rate_per_minute)
    _aware(start, "start")
    _aware(now, "now")
    if now < start:
        return 0
    elapsed = (now - start) // timedelta(microseconds=1)
    return elapsed * rate_per_minute // _MICROSECONDS_PER_MINUTE + 1


def estimated_wait(place: int, admitted: int, rate_per_minute: int) -> timedelta:
    """The wait of the 1-based ``place`` when ``admitted`` places have been let in: nothing once
    the place is reached, else ``(place - admitted) * 60 / rate`` seconds, rounded up to a whole
    second (an estimate that is never early)."""
    _check_rate(rate_per_minute)
    if place < 1 or admitted < 0:
        raise ValueError("a place starts at 1 and the places let in are never negative")
    if place <= admitted:
        return timedelta(0)
    return timedelta(seconds=-(-(place - admitted) * 60 // rate_per_minute))


def admissions_due(
    order: Sequence[int],
    already: int,
    start: datetime,
    rate_per_minute: int,
    now: datetime,
    units_left: int,
    outstanding: int,
) -> list[int]:
    """The members to admit now, in line order: the places after the ``already`` admitted ones up
    to what the rate has let in by ``now``, but never more at once than the units left less the
    ``outstanding`` admissions (issued, unused, not expired), and none once the units are gone.
    The caller adds the members it admits to ``already``, so no place is admitted twice."""
    if already < 0 or outstanding < 0:
        raise ValueError("the admitted and outstanding counts are never negative")
    if units_left <= 0:
        return []
    room = units_left - outstanding
    if room <= 0:
        return []
    due_to = min(admitted_by(start, rate_per_minute, now), len(order), already + room)
    return list(order[already:due_to])


@dataclass(frozen=True)
class Admission:
    member_id: int
    product_id: int
    expires_at: datetime  # aware; the token keeps it in whole seconds
    nonce: str  # stored when the admission is used, so it is used once


def new_nonce() -> str:
    """A fresh, unguessable nonce for one admission."""
    return secrets.token_urlsafe(16)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """The bytes of unpadded base64url ``text``, or None when it is not the one canonical
    encoding of them (so each admission has a single token)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None


def _payload(admission: Admission) -> bytes:
    expires = int(_aware(admission.expires_at, "expires_at").timestamp())
    return f"{admission.member_id}:{admission.product_id}:{expires}:{admission.nonce}".encode()


def _mac(secret: bytes, payload: bytes) -> bytes:
    if not secret:
        raise ValueError("an admission needs a secret to be signed with")
    return hmac.new(secret, payload, hashlib.sha256).digest()


def sign_admission(secret: bytes, admission: Admission) -> str:
    """The URL-safe token of ``admission``: ``base64url(payload) + "." + base64url(HMAC-SHA256)``,
    the payload being ``"<member id>:<product id>:<expiry, Unix seconds>:<nonce>"`` (the expiry is
    truncated to the second, so a token never lives longer than asked)."""
    if not admission.nonce:
        raise ValueError("an admission needs a nonce")
    payload = _payload(admission)
    return f"{_b64encode(payload)}.{_b64encode(_mac(secret, payload))}"


def read_admission(secret: bytes, token: str, member_id: int, product_id: int, now: datetime) -> Admission | None:
    """The admission ``token`` carries when it is well formed, signed with ``secret``, for this
    member and product, and not expired at ``now``; None otherwise. Never raises on the token."""
    _aware(now, "now")
    admission = read_signed_admission(secret, token, member_id, product_id)
    if admission is None or now >= admission.expires_at:
        return None
    return admission


def read_signed_admission(secret: bytes, token: str, member_id: int, product_id: int) -> Admission | None:
    """``read_admission`` without the expiry: the admission of a well-formed token signed with
    ``secret`` for this member and product, expired or not (a press sent again after the expiry
    is still recognised as the press the admission was used with). Never raises on the token."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    encoded_payload, encoded_mac = token.split(".")
    payload, mac = _b64decode(encoded_payload), _b64decode(encoded_mac)
    if payload is None or mac is None or not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    fields = _fields(payload)
    if fields is None or fields[0] != member_id or fields[1] != product_id:
        return None
    return Admission(member_id=member_id, product_id=product_id, expires_at=fields[2], nonce=fields[3])


class Entry(StrEnum):
    """What a Buy press carrying an admission is told at the door (``entry``)."""

    LET_IN = auto()  # the admission was unused and alive: the press spends it
    REPLAY = auto()  # the press the admission was used with, sent again: let through again
    USED = auto()  # used by another press
    EXPIRED = auto()  # not used in time
    UNKNOWN = auto()  # no such admission (a token from elsewhere, or the line was reset)


def entry(
    expires_at: datetime | None,
    used_key: str | None,
    key: str,
    token_expires_at: datetime,
    now: datetime,
    answered: bool = False,
) -> Entry:
    """Whether a press with ``key`` may go in on an admission whose row expires at ``expires_at``
    (None: there is no such row) and was used with ``used_key`` (None: unused); the token's own
    expiry (``token_expires_at``, whole seconds, never later) counts too. The press the admission
    was used with is let through again while the admission lives, and after that only if it was
    ``answered`` (it then replays its answer): an unanswered one is expired, so a unit given to the
    next place is never taken again."""
    _aware(now, "now")
    if expires_at is None:
        return Entry.UNKNOWN
    alive = now < min(_aware(expires_at, "expires_at"), _aware(token_expires_at, "token_expires_at"))
    if used_key is not None:
        if not hmac.compare_digest(used_key.encode(), key.encode()):
            return Entry.USED
        return Entry.REPLAY if alive or answered else Entry.EXPIRED
    return Entry.LET_IN if alive else Entry.EXPIRED


def _fields(payload: bytes) -> tuple[int, int, datetime, str] | None:
    """Member id, product id, expiry and nonce of a signed payload, or None when it has not that
    shape."""
    try:
        match = _PAYLOAD_RE.fullmatch(payload.decode("utf-8"))
        if match is None:
            return None
        return int(match[1]), int(match[2]), datetime.fromtimestamp(int(match[3]), UTC), match[4]
    except (UnicodeDecodeError, OverflowError, OSError, ValueError):
        return None
