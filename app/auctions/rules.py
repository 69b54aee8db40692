"""Pure auction rules: the auction state table, bid amounts from a form, the ranking of a
multi-unit auction (N units: the N highest bids win, each at its own amount; equal amounts go to
the earlier bid), the minimum next bid, bid validity, proxy bidding and the soft close. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.states import StateMachine


class AuctionStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    CLOSED = "closed"
    SETTLED = "settled"


A = AuctionStatus
AUCTION_STATUS = StateMachine[AuctionStatus](
    "auction",
    {A.SCHEDULED: {A.LIVE}, A.LIVE: {A.CLOSED}, A.CLOSED: {A.SETTLED}, A.SETTLED: set()},
)

# The largest bid the shop accepts (KRW, whole won): far above any real price, far below overflow.
MAX_BID = 10_000_000_000


class BidRefused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Bid:
    member_id: int
    amount: int
    sequence: int  # the order bids were stored in (the database id): earlier wins a tie


def parse_amount(raw: str) -> int:
    """Whole won from a form: digits, optional thousands separators and a leading ₩."""
    text = raw.strip().removeprefix("₩").replace(",", "").strip()
    if not text.isdigit():
        raise BidRefused("Enter the bid in whole won, e.g. 15000.")
    if len(text) > 12 or int(text) > MAX_BID:
        raise BidRefused(f"Bids above ₩{MAX_BID:,} are not accepted.")
    return int(text)


def ranking(bids: Iterable[Bid]) -> list[Bid]:
    """Highest first; equal amounts in the order they were placed. One bid per member (the latest
    stored bid of a member replaces the earlier ones before ranking)."""
    latest: dict[int, Bid] = {}
    for bid in sorted(bids, key=lambda b: b.sequence):
        latest[bid.member_id] = bid
    return sorted(latest.values(), key=lambda b: (-b.amount, b.sequence))


def winners(bids: Iterable[Bid], units: int) -> list[Bid]:
    return ranking(bids)[:units]


def minimum_next_bid(bids: Iterable[Bid], units: int, start_price: int, increment: int) -> int:
    """The start price while fewer than ``units`` bids stand, else the lowest winning bid plus the
    increment (a new bid must beat it to take a unit)."""
    standing = winners(bids, units)
    if len(standing) < units:
        return start_price
    return standing[-1].amount + increment


def check_bid(
    *,
    amount: int,
    member_id: int,
    seller_id: int,
    status: AuctionStatus,
    now: datetime,
    ends_at: datetime,
    bids: Iterable[Bid],
    units: int,
    start_price: int,
    increment: int,
) -> None:
    """Raise ``BidRefused`` with a clear sentence, or return when the bid is valid."""
    if member_id == seller_id:
        raise BidRefused("You cannot bid on your own product.")
    if status is not AuctionStatus.LIVE or now >= ends_at:
        raise BidRefused(
            "This auction is not taking bids." if status is not AuctionStatus.LIVE else "This auction has ended."
        )
    ranked = ranking(bids)
    mine = next((b for b in ranked if b.member_id == member_id), None)
    if mine is not None and amount <= mine.amount:
        raise BidRefused(f"Your bid stands at ₩{mine.amount:,}; a new bid must be higher.")
    others = [b for b in ranked if b.member_id != member_id]
    needed = minimum_next_bid(others, units, start_price, increment)
    if amount < needed:
        raise BidRefused(f"Bid at least ₩{needed:,}.")


def resolve_proxies(
    bids: Iterable[Bid], maximums: Mapping[int, int], units: int, start_price: int, increment: int
) -> dict[int, int]:
    """Proxy bidding: each member with a maximum who is not among the winners bids the least that
    puts them there (the minimum next bid against the others), never above their maximum, in turns
    until nobody can. Two proxies fighting over the same place settle at once instead of one
    increment at a time (the same end state, in a handful of steps whatever the amounts): the
    higher maximum ends one increment above the other's last bid. Returns each raised member's new
    amount, in the order of their last raise (members already winning, or who cannot afford the
    minimum, are left out)."""
    if increment <= 0:
        raise ValueError("the bid increment must be positive")
    current = {b.member_id: b for b in ranking(bids)}
    sequence = max((b.sequence for b in current.values()), default=0)
    raised: dict[int, int] = {}

    def raise_to(member_id: int, amount: int) -> None:
        nonlocal sequence
        sequence += 1
        current[member_id] = Bid(member_id, amount, sequence)
        raised.pop(member_id, None)
        raised[member_id] = amount

    changed = True
    while changed:
        changed = False
        for member_id in sorted(maximums, key=lambda m: current[m].sequence if m in current else 0):
            others = ranking(b for b in current.values() if b.member_id != member_id)
            standing = others[:units]
            if member_id in current and (len(standing) < units or _beats(current[member_id], standing[-1])):
                continue  # already among the winners
            needed = start_price if len(standing) < units else standing[-1].amount + increment
            ceiling = maximums[member_id]
            if needed > ceiling or (member_id in current and current[member_id].amount >= needed):
                continue
            changed = True
            rival = standing[-1] if len(standing) == units else None
            if rival is None or rival.member_id not in maximums:
                raise_to(member_id, needed)
                continue
            # A war with the proxy it displaces, while nobody else is in the way: bids alternate
            # needed, needed + increment, ... (even steps this member, odd steps the rival) until
            # one side cannot afford its next step or the amounts pass the next winner up.
            steps = _war_steps(needed, increment, ceiling, maximums[rival.member_id], standing, units)
            last_mine = steps - 1 if (steps - 1) % 2 == 0 else steps - 2
            last_rival = steps - 1 if (steps - 1) % 2 == 1 else steps - 2
            for step in sorted(s for s in (last_mine, last_rival) if s >= 0):
                raise_to(member_id if step % 2 == 0 else rival.member_id, needed + step * increment)
    return raised


def _beats(bid: Bid, other: Bid) -> bool:
    return (bid.amount, -bid.sequence) > (other.amount, -other.sequence)


def _war_steps(needed: int, increment: int, mine: int, rivals: int, standing: list[Bid], units: int) -> int:
    """How many alternating raises a two-proxy war makes (at least the first, which is affordable)."""

    def first_odd_above(limit: int) -> int:
        return limit + 1 if limit % 2 == 0 else limit + 2

    def first_even_above(limit: int) -> int:
        return limit + 2 if limit % 2 == 0 else limit + 1

    fails = [
        first_even_above((mine - needed) // increment),
        first_odd_above((rivals - needed) // increment) if rivals >= needed else 1,
    ]
    if units > 1:  # the next winner up: beyond it, the war is no longer between these two
        fails.append(max(1, (standing[-2].amount - needed) // increment + 1))
    return min(fails)


def extended_end(ends_at: datetime, bid_at: datetime, extend: timedelta) -> datetime:
    """Soft close: a bid in the last ``extend`` before the end pushes the end back by ``extend``."""
    if bid_at < ends_at and ends_at - bid_at <= extend:
        return ends_at + extend
    return ends_at
