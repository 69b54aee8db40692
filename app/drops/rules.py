"""Pure drop rules: the purchase-right table, outcomes of a press, keys. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.core.states import StateMachine
from app.models.drops import RightStatus

RIGHT_STATUS = StateMachine[RightStatus](
    "purchase right",
    {
        RightStatus.HELD: {RightStatus.PAID, RightStatus.EXPIRED, RightStatus.CANCELLED},
        RightStatus.PAID: set(),
        RightStatus.EXPIRED: set(),
        RightStatus.CANCELLED: set(),
    },
)

# Rights that count against the member's limit.
LIVE_RIGHTS = (RightStatus.HELD, RightStatus.PAID)

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class Outcome(StrEnum):
    GRANTED = "granted"
    SOLD_OUT = "sold_out"
    LIMIT = "limit"
    NOT_ON_SALE = "not_on_sale"
    ENDED = "ended"
    SIGNED_OUT = "signed_out"  # the member was suspended or withdrawn since signing in


@dataclass(frozen=True)
class PressResult:
    outcome: Outcome
    right_id: int | None = None
    replayed: bool = False
    expires_at: datetime | None = None  # the right's payment deadline, when the decision knows it

    def to_gate(self, member_id: int) -> str:
        """How the gate remembers this key's answer (a signed-out press is not an answer to keep)."""
        if self.outcome is Outcome.GRANTED:
            return f"granted:{self.right_id}:{member_id}"
        if self.outcome is Outcome.SIGNED_OUT:
            return "refused"
        return self.outcome.value

    @classmethod
    def from_gate(cls, stored: str) -> tuple[PressResult, int | None] | None:
        """``(result, member_id)`` from a remembered answer, or None if it is not final."""
        if stored.startswith("granted:"):
            _, right_id, member_id = stored.split(":")
            return cls(Outcome.GRANTED, int(right_id), replayed=True), int(member_id)
        try:
            return cls(Outcome(stored), replayed=True), None
        except ValueError:
            return None


def key_is_valid(key: str | None) -> bool:
    return bool(key) and bool(_KEY_RE.match(key or ""))


def hold_deadline_seconds(expires_in: float) -> str:
    """``9:59`` from a number of seconds (never negative)."""
    seconds = max(0, int(expires_in))
    return f"{seconds // 60}:{seconds % 60:02d}"
