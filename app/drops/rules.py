"""Pure drop rules: the purchase-right table, outcomes of a press, keys, and the decision of a
batch of presses over a snapshot of the product (``decide``). No I/O."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum, auto

from app.core.generations import session_current
from app.core.states import StateMachine
from app.models.catalog import ProductStatus, SaleMode
from app.models.drops import RightStatus

# A right is held until it is paid, expires or is cancelled; every other status is final.
RIGHT_STATUS = StateMachine[RightStatus](
    "purchase right",
    {
        **dict.fromkeys(RightStatus, frozenset()),
        RightStatus.HELD: {RightStatus.PAID, RightStatus.EXPIRED, RightStatus.CANCELLED},
    },
)

# Rights that count against the member's limit.
LIVE_RIGHTS = (RightStatus.HELD, RightStatus.PAID)

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class Outcome(StrEnum):
    """Each value is its name in lower case (``SOLD_OUT`` is ``"sold_out"``)."""

    GRANTED = auto()
    SOLD_OUT = auto()
    LIMIT = auto()
    NOT_ON_SALE = auto()
    ENDED = auto()
    SIGNED_OUT = auto()  # the member was suspended or withdrawn since signing in
    OWN_PRODUCT = auto()  # a seller never buys their own product (nothing is kept: no row)
    DRAW = auto()  # the units go to a draw's winners: Buy sells none of them (nothing is kept)
    JOIN_LINE = auto()  # a waiting room's press without an admission (nothing is kept)


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


# ---------------------------------------------------------------- a batch of presses

# What a press is told when the product is not selling.
NOT_SELLING = {
    ProductStatus.SCHEDULED: Outcome.NOT_ON_SALE,
    ProductStatus.CONVERSION_PENDING: Outcome.SOLD_OUT,
    ProductStatus.AUCTION_LIVE: Outcome.ENDED,
    ProductStatus.ENDED: Outcome.ENDED,
}


@dataclass(frozen=True)
class Press:
    product_id: int
    member_id: int
    key: str
    generation: int | None = None  # the session generation the press was signed in with (None: not checked)
    # The member used an admission from the product's waiting room for this press (checked and spent
    # before the press is queued: ``app.drops.admissions``); a waiting room refuses a press without.
    admitted: bool = False


@dataclass(frozen=True)
class KnownRight:
    """A purchase right granted to one of the batch's keys before."""

    right_id: int
    member_id: int
    product_id: int
    expires_at: datetime


@dataclass(frozen=True)
class DropSnapshot:
    """What a batch of presses for one product is decided on (read under the product's lock)."""

    product_id: int
    status: ProductStatus
    purchase_limit: int
    list_price: int
    fixed_quantity: int
    taken_quantity: int
    hold: timedelta  # how long a granted right waits for its payment
    active: frozenset[int] = frozenset()  # the batch's members who are still active
    generations: Mapping[int, int] = field(default_factory=dict)  # member → current session generation
    holding: Mapping[int, int] = field(default_factory=dict)  # member → live rights for this product
    rights: Mapping[str, KnownRight] = field(default_factory=dict)  # by key
    refusals: Mapping[str, Refusal] = field(default_factory=dict)  # by key
    seller_id: int | None = None  # whose product it is: their presses are refused
    sale_mode: SaleMode = SaleMode.FIRST_COME  # a draw sells nothing by Buy; a waiting room needs an admission


@dataclass(frozen=True)
class Grant:
    """A purchase right to write (its id comes with the write)."""

    member_id: int
    key: str
    unit_price: int
    expires_at: datetime


@dataclass(frozen=True)
class Refusal:
    """A refusal kept with its key: one of the batch's, or one a key was given before."""

    key: str
    member_id: int
    product_id: int
    outcome: Outcome


@dataclass(frozen=True)
class Answered:
    result: PressResult


@dataclass(frozen=True)
class Granted:
    grant: Grant


@dataclass(frozen=True)
class Conflicted:
    """The key belongs to another member's press (or another product's)."""


@dataclass(frozen=True)
class SameAs:
    """The same key as the batch's earlier press ``first``, by the same member: its answer."""

    first: int


PressAnswer = Answered | Granted | Conflicted | SameAs


@dataclass(frozen=True)
class DropDecision:
    answers: tuple[PressAnswer, ...]  # one per press, in order
    grants: tuple[Grant, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    taken_quantity: int = 0  # the product's taken units once the grants are written
    sold_out: bool = False  # the grants take the last fixed-price unit


def decide(snapshot: DropSnapshot, presses: Sequence[tuple[Press, datetime]]) -> DropDecision:
    """Decide a batch of presses, first come first served, each at its own time: a key that has an
    answer keeps it; then the product's state, the member's standing and limit, the units left."""
    s = snapshot
    taken = s.taken_quantity
    holding = Counter(s.holding)
    answers: list[PressAnswer] = []
    first_by_key: dict[str, int] = {}  # a key pressed twice in this batch: the first press answers
    grants: list[Grant] = []
    refusals: list[Refusal] = []
    for index, (press, now) in enumerate(presses):
        if (right := s.rights.get(press.key)) is not None:
            answers.append(_right_replay(right, press))
            continue
        if (refusal := s.refusals.get(press.key)) is not None:
            answers.append(_refusal_replay(refusal, press))
            continue
        if (first := first_by_key.get(press.key)) is not None:
            same_member = presses[first][0].member_id == press.member_id
            answers.append(SameAs(first) if same_member else Conflicted())
            continue
        first_by_key[press.key] = index
        refused = _refused(s, press, taken, holding[press.member_id])
        if refused is not None:
            answers.append(Answered(refused))
            if refused.final:
                refusals.append(Refusal(press.key, press.member_id, s.product_id, refused.outcome))
            continue
        taken += 1
        holding[press.member_id] += 1
        grant = Grant(press.member_id, press.key, s.list_price, now + s.hold)
        grants.append(grant)
        answers.append(Granted(grant))
    sold_out = bool(grants) and taken >= s.fixed_quantity
    return DropDecision(tuple(answers), tuple(grants), tuple(refusals), taken, sold_out)


def _refused(s: DropSnapshot, press: Press, taken: int, holding: int) -> PressResult | None:
    if press.member_id == s.seller_id:
        return PressResult(Outcome.OWN_PRODUCT)
    if s.status is not ProductStatus.ON_SALE:
        return PressResult(NOT_SELLING.get(s.status, Outcome.NOT_ON_SALE))
    if press.member_id not in s.active or not session_current(s.generations, press.member_id, press.generation):
        return PressResult(Outcome.SIGNED_OUT)
    if s.sale_mode is SaleMode.DRAW:
        return PressResult(Outcome.DRAW)
    if holding >= s.purchase_limit:
        return PressResult(Outcome.LIMIT)
    if taken >= s.fixed_quantity:
        return PressResult(Outcome.SOLD_OUT)
    if s.sale_mode is SaleMode.WAITING_ROOM and not press.admitted:
        return PressResult(Outcome.JOIN_LINE)
    return None


def _right_replay(right: KnownRight, press: Press) -> Answered | Conflicted:
    if right.member_id != press.member_id or right.product_id != press.product_id:
        return Conflicted()
    return Answered(PressResult(Outcome.GRANTED, right.right_id, replayed=True, expires_at=right.expires_at))


def _refusal_replay(refusal: Refusal, press: Press) -> Answered | Conflicted:
    if refusal.member_id != press.member_id or refusal.product_id != press.product_id:
        return Conflicted()
    return Answered(PressResult(refusal.outcome, replayed=True))
