"""Pure drop rules: the purchase-right table, outcomes of a press, keys. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


# What a refused press is told, kept with its key: a replay of the key is told the same.
KEPT_REFUSALS = frozenset({"sold_out", "limit", "not_on_sale", "ended"})


@dataclass(frozen=True)
class PressResult:
    outcome: Outcome
    right_id: int | None = None
    replayed: bool = False
    expires_at: datetime | None = None  # the right's payment deadline, when the decision knows it
    # The product's stock version after the batch that granted this right (None for any other answer).
    stock_version: int | None = field(default=None, compare=False)

    @property
    def final(self) -> bool:
        """An answer the key keeps for its life (a signed-out member's press is not one)."""
        return self.outcome is Outcome.GRANTED or self.outcome.value in KEPT_REFUSALS

    def to_gate(self, member_id: int) -> str:
        """How the gate remembers this key's answer, with the member it belongs to."""
        if self.outcome is Outcome.GRANTED:
            return f"granted:{self.right_id}:{member_id}"
        return f"{self.outcome.value}:{member_id}"

    @classmethod
    def from_gate(cls, stored: str) -> tuple[PressResult, int] | None:
        """``(result, member_id)`` from a remembered answer, or None if it is not one."""
        parts = stored.split(":")
        try:
            if parts[0] == Outcome.GRANTED.value and len(parts) == 3:
                return cls(Outcome.GRANTED, int(parts[1]), replayed=True), int(parts[2])
            if parts[0] in KEPT_REFUSALS and len(parts) == 2:
                return cls(Outcome(parts[0]), replayed=True), int(parts[1])
        except ValueError:
            return None
        return None


def key_is_valid(key: str | None) -> bool:
    return bool(key) and bool(_KEY_RE.match(key or ""))
