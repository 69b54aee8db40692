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
    """Proxy bidding: each member with a maximum is raised, in turns, to the least amount that puts
    them among the winners, never above their maximum. Returns the new amount per member whose bid
    must rise (members already winning, or who cannot afford the minimum, are left out)."""
    if increment <= 0:
        raise ValueError("the bid increment must be positive")
    current = {b.member_id: b for b in ranking(bids)}
    sequence = max((b.sequence for b in current.values()), default=0)
    raised: dict[int, int] = {}
    changed = True
    while changed:
        changed = False
        for member_id in sorted(maximums, key=lambda m: current[m].sequence if m in current else 0):
            standing = winners(current.values(), units)
            if any(b.member_id == member_id for b in standing):
                continue
            others = [b for b in current.values() if b.member_id != member_id]
            needed = minimum_next_bid(others, units, start_price, increment)
            ceiling = maximums[member_id]
            if needed > ceiling or (member_id in current and current[member_id].amount >= needed):
                continue
            sequence += 1
            current[member_id] = Bid(member_id, needed, sequence)
            raised[member_id] = needed
            changed = True
    return raised


def extended_end(ends_at: datetime, bid_at: datetime, extend: timedelta) -> datetime:
    """Soft close: a bid in the last ``extend`` before the end pushes the end back by ``extend``."""
    if bid_at < ends_at and ends_at - bid_at <= extend:
        return ends_at + extend
    return ends_at
