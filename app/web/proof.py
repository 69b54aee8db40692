"""A small proof that a person is behind a form that hands out something scarce (joining a waiting
room's line; entering a draw), checked in one call: ``await services.proofs.check(form, member_id,
subject)``, which raises :class:`ProofRefused` (a 400 with the message to show beside the form).

With JavaScript, a proof of work (ALTCHA, the ``altcha`` library's v2 challenges, solved by the
vendored widget in ``static/vendor``): ``GET /proof/challenge`` hands out a signed challenge whose
secret counter is drawn below ``PROOF_OF_WORK_MAX_NUMBER`` and which expires after
``CHALLENGE_SECONDS``; the browser searches for the counter (iterated SHA-256 in Web Workers) and
posts the solution in the form's ``altcha`` field. It is accepted when its signature is ours, it has
not expired and it has never been accepted before: each solved challenge is claimed once in the
single-use store (Redis with ``REDIS_URL``, memory otherwise) until it expires.

Without JavaScript, a proof of time instead: a form posted with no solution is answered (400) with
the same form carrying a signed, time-stamped "waited" ticket for this member and subject, and
asks them to wait ``PROOF_OF_TIME_SECONDS`` before pressing again. The ticket is accepted from that
moment, for ``WAITED_SECONDS``, once; pressed too early, the answer says how long is left and keeps
the ticket. No meta refresh carries the member on by itself: a timed redirect is a failure of WCAG
2.2.1 (a time limit the member cannot adjust), and the press is one they make anyway.

Neither proof names anyone but the member who asked for it: a challenge carries no identity at
all, and a ticket only its own member's id, signed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import altcha

from app.core.errors import DomainError
from app.core.i18n import Msg, ngettext
from app.models.base import utcnow
from app.settings import Settings
from app.web.single_use import SingleUse

PROOF_FIELD = "altcha"  # the widget's hidden input
WAITED_FIELD = "waited"  # the no-JavaScript ticket
ALGORITHM = "SHA-256"  # iterated SHA in the browser's WebCrypto: no WASM, and one hash per try at cost 1
CHALLENGE_SECONDS = 300  # a challenge fetched when the form is sent is solved well within this
WAITED_SECONDS = 600  # a ticket, once its wait is over, works this long (the member may be slow)
CLOCK_SKEW_SECONDS = 60  # claims outlive their proof by this much, for hosts whose clocks differ
MAX_PAYLOAD_CHARS = 4096  # a real solution is about 700 characters: anything longer is refused unread
_MAX_COUNTER = 2**32  # the widget counts in a big-endian uint32

FAILED = Msg(
    "The check that you are a person did not pass (it may have expired or been used already). "
    "Nothing was done: please try again."
)
TICKET_INVALID = Msg(
    "Your waiting ticket is not valid any more (it expired or was used already). Nothing was done: please try again."
)
_TICKET_RE = re.compile(r"[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43}")
_TICKET_PAYLOAD_RE = re.compile(r"([0-9]{1,10}):([0-9]{1,12}):([0-9]{1,12}):([A-Za-z0-9_-]{22}):([a-z0-9:-]{1,64})")


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Your browser did not run the check that you are a person (it needs JavaScript), so instead "
        "please wait %(num)s second, then press the button again. Nothing was done yet.",
        "Your browser did not run the check that you are a person (it needs JavaScript), so instead "
        "please wait %(num)s seconds, then press the button again. Nothing was done yet.",
        seconds,
    )


def _too_early_message(seconds: int) -> str:
    return ngettext(
        "That was a little early: please wait %(num)s more second, then press the button again.",
        "That was a little early: please wait %(num)s more seconds, then press the button again.",
        seconds,
    )


@dataclass(frozen=True)
class Wait:
    """A no-JavaScript member's ticket: usable from ``ready_at`` (aware, whole seconds)."""

    token: str
    ready_at: datetime

    def seconds_left(self, now: datetime) -> int:
        return max(0, math.ceil((self.ready_at - now).total_seconds()))


class ProofRefused(DomainError):
    """No proof, or one that does not hold: nothing may be done. ``wait``: the ticket a member
    without JavaScript waits for (the answer's form carries it, for the next press)."""

    status_code = 400

    def __init__(self, message: str, wait: Wait | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def _key(secret: str, purpose: str) -> bytes:
    """A key of its own for each use of the app's one secret."""
    return hmac.new(secret.encode(), f"smore:{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None  # one token per ticket


class Proofs:
    """Makes and checks the proofs; one per app (``services.proofs``)."""

    def __init__(self, settings: Settings, claims: SingleUse) -> None:
        if not settings.secret_key:
            raise ValueError("proofs need the app's secret")
        self.claims = claims
        self.max_number = min(max(1, settings.proof_of_work_max_number), _MAX_COUNTER)
        self.wait_seconds = max(0, settings.proof_of_time_seconds)
        self._challenge_key = _key(settings.secret_key, "proof-of-work:challenge")
        self._solution_key = _key(settings.secret_key, "proof-of-work:derived-key")
        self._ticket_key = _key(settings.secret_key, "proof-of-time:ticket")

    # --- proof of work ---------------------------------------------------------------------------

    def challenge(self, now: float | None = None) -> dict[str, Any]:
        """A fresh signed challenge, as the widget fetches it (JSON), made at ``now`` (Unix
        seconds)."""
        made = altcha.create_challenge(
            ALGORITHM,
            1,
            counter=secrets.randbelow(self.max_number),
            expires_at=int(time.time() if now is None else now) + CHALLENGE_SECONDS,
            hmac_secret=self._challenge_key,
            hmac_key_secret=self._solution_key,
        )
        return made.to_dict()

    def solution_holds(self, payload: str) -> tuple[str, float] | None:
        """The challenge the solution ``payload`` (the widget's base64 field) solves, named by its
        signature, and when it stops mattering (Unix seconds), if the challenge is ours, has not
        expired and is solved; None otherwise. Never raises on the payload. Says nothing about
        whether it was used before."""
        if not isinstance(payload, str) or not 0 < len(payload) <= MAX_PAYLOAD_CHARS or not payload.isascii():
            return None
        try:
            solved = altcha.Payload.from_base64(payload)
            if not altcha.verify_solution(solved, self._challenge_key, hmac_key_secret=self._solution_key).verified:
                return None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError):
            return None
        # Signed by us, so both are what we made: the signature's exact hex (however the rest of
        # the payload is re-encoded) and an expiry in whole seconds.
        expires_at = solved.challenge.parameters.expires_at
        if not isinstance(solved.challenge.signature, str) or type(expires_at) is not int:
            return None
        return solved.challenge.signature, float(expires_at)

    # --- proof of time ---------------------------------------------------------------------------

    def wait(self, member_id: int, subject: str, now: datetime | None = None) -> Wait:
        """A new ticket for ``member_id`` and ``subject`` (what it lets them do, such as
        ``line:12``), usable ``PROOF_OF_TIME_SECONDS`` from ``now`` (from the next whole second)."""
        now = now or utcnow()
        ready = math.ceil(now.timestamp()) + self.wait_seconds
        payload = f"{member_id}:{ready}:{ready + WAITED_SECONDS}:{secrets.token_urlsafe(16)}:{subject}".encode()
        if not _TICKET_PAYLOAD_RE.fullmatch(payload.decode()):
            raise ValueError(f"a ticket cannot be made for member {member_id!r} and subject {subject!r}")
        token = f"{_b64(payload)}.{_b64(hmac.new(self._ticket_key, payload, hashlib.sha256).digest())}"
        return Wait(token, datetime.fromtimestamp(ready, UTC))

    def _ticket(self, token: object, member_id: int, subject: str, now: datetime) -> tuple[Wait, str, int] | None:
        """The ticket ``token`` is, its nonce and its end (Unix seconds), when we signed it for this
        member and subject and it has not expired at ``now`` (ready or not yet); None otherwise.
        Never raises on the token."""
        if not isinstance(token, str) or not _TICKET_RE.fullmatch(token):
            return None
        encoded, mac = token.split(".")
        payload, signature = _unb64(encoded), _unb64(mac)
        if payload is None or signature is None:
            return None
        if not hmac.compare_digest(signature, hmac.new(self._ticket_key, payload, hashlib.sha256).digest()):
            return None
        fields = _TICKET_PAYLOAD_RE.fullmatch(payload.decode("ascii", "replace"))
        if fields is None or int(fields[1]) != member_id or fields[5] != subject:
            return None
        ready, ends = int(fields[2]), int(fields[3])
        if now.timestamp() >= ends:
            return None
        return Wait(token, datetime.fromtimestamp(ready, UTC)), fields[4], ends

    # --- the check -------------------------------------------------------------------------------

    async def check(self, form: Mapping[str, str], member_id: int, subject: str, now: datetime | None = None) -> None:
        """Let ``member_id`` do ``subject`` if the form carries a proof that holds and was never
        accepted before (it is used up now); else raise :class:`ProofRefused`, with a new ticket to
        wait for when the form carried no proof at all."""
        now = now or utcnow()
        payload, ticket = form.get(PROOF_FIELD, ""), form.get(WAITED_FIELD, "")
        if payload:
            solved = self.solution_holds(payload)
            if solved is None or not await self.claims.claim(f"pow:{solved[0]}", solved[1] + CLOCK_SKEW_SECONDS):
                raise ProofRefused(str(FAILED))
            return
        if ticket:
            found = self._ticket(ticket, member_id, subject, now)
            if found is None:
                raise ProofRefused(str(TICKET_INVALID))
            wait, nonce, ends = found
            if now < wait.ready_at:
                raise ProofRefused(_too_early_message(wait.seconds_left(now)), wait)
            if not await self.claims.claim(f"waited:{nonce}", ends + CLOCK_SKEW_SECONDS):
                raise ProofRefused(str(TICKET_INVALID))
            return
        raise ProofRefused(_wait_message(self.wait_seconds), self.wait(member_id, subject, now))
