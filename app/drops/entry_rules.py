"""Pure rules of entering a draw: where a draw stands at a moment (entries not open yet, open,
closed and waiting for the draw, drawn), why a member may not enter it, and the table of an
entry's states. No I/O; ``now`` is passed in. The service turns a refusal into the sentence the
member reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum, auto

from app.core.states import StateMachine
from app.models.catalog import ProductStatus
from app.models.draws import EntryStatus

# The draw moves every entry once (a winner, or left behind); the cascade may later offer a unit to
# an entry left behind. An entry is offered a unit at most once.
ENTRY_STATUS = StateMachine[EntryStatus](
    "draw entry",
    {
        EntryStatus.ENTERED: {EntryStatus.WON, EntryStatus.NOT_DRAWN},
        EntryStatus.NOT_DRAWN: {EntryStatus.OFFERED},
        EntryStatus.WON: frozenset(),
        EntryStatus.OFFERED: frozenset(),
    },
)


class Phase(StrEnum):
    """Each value is its name in lower case."""

    SOON = auto()  # the sale (and so the entry window) has not opened yet
    OPEN = auto()  # entries are taken
    CLOSING = auto()  # the window has closed; the draw is about to be made
    DRAWN = auto()  # the draw was made: its seed and entries are published
    OVER = auto()  # the sale stopped without a draw


def phase(status: ProductStatus, ends_at: datetime | None, drawn_at: datetime | None, now: datetime) -> Phase:
    """Where a draw listing in ``status`` stands at ``now``."""
    if drawn_at is not None:
        return Phase.DRAWN
    if status is ProductStatus.SCHEDULED:
        return Phase.SOON
    if status is ProductStatus.ON_SALE and ends_at is not None:
        return Phase.OPEN if now < ends_at else Phase.CLOSING
    return Phase.OVER


class Refusal(StrEnum):
    """Why a member may not enter. Each value is its name in lower case."""

    OWN_PRODUCT = auto()
    NOT_OPEN = auto()
    CLOSED = auto()
    UNCONFIRMED = auto()  # the member has not confirmed their email address
    TOO_YOUNG = auto()  # the account is younger than the draw's minimum age


# Refusals about the member (403); the others are about the moment (409).
ABOUT_THE_MEMBER = frozenset({Refusal.OWN_PRODUCT, Refusal.UNCONFIRMED, Refusal.TOO_YOUNG})


@dataclass(frozen=True)
class Entrant:
    member_id: int
    confirmed: bool  # the member opened the confirmation link mailed to them
    joined_at: datetime  # when the account was made


def old_enough_at(joined_at: datetime, min_account_days: int) -> datetime:
    """When an account made at ``joined_at`` reaches the draw's minimum age."""
    return joined_at + timedelta(days=min_account_days)


def refusal(entrant: Entrant, *, seller_id: int, window: Phase, min_account_days: int, now: datetime) -> Refusal | None:
    """Why ``entrant`` may not enter a draw whose window is at ``window`` now (None: they may). The
    seller never may; then the window must be open; then the account must be confirmed and old
    enough."""
    if entrant.member_id == seller_id:
        return Refusal.OWN_PRODUCT
    if window is Phase.SOON:
        return Refusal.NOT_OPEN
    if window is not Phase.OPEN:
        return Refusal.CLOSED
    if not entrant.confirmed:
        return Refusal.UNCONFIRMED
    if old_enough_at(entrant.joined_at, min_account_days) > now:
        return Refusal.TOO_YOUNG
    return None
