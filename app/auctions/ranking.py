"""The ranking of a multi-unit auction (N units: the N highest bids win, each at its own amount;
equal amounts go to the earlier bid), the minimum next bid, and the board a batch of bids keeps of
the standing bids it knows. Pure: no I/O."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bid:
    member_id: int
    amount: int
    sequence: int  # the order bids were stored in (the database id): earlier wins a tie


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


class Board:
    """The standing bids a batch knows, with the top units + 1 kept in rank order. Bids only
    rise, so a bid below the top units + 1 can only come back into it by bidding again: these are
    all the bids that decide validity, the minimum and the winners."""

    def __init__(self, bids: Iterable[Bid], units: int) -> None:
        self.units = units
        self.standing: dict[int, Bid] = {b.member_id: b for b in bids}
        self.top: list[Bid] = ranking(self.standing.values())[: units + 1]

    def put(self, bid: Bid) -> None:
        old = self.standing.get(bid.member_id)
        self.standing[bid.member_id] = bid
        if old is not None and old in self.top:
            self.top.remove(old)
        insort(self.top, bid, key=_rank)
        del self.top[self.units + 1 :]

    def winners(self) -> set[int]:
        return {b.member_id for b in self.top[: self.units]}

    def around(self, member_id: int) -> list[Bid]:
        """The top bids and the member's own."""
        mine = self.standing.get(member_id)
        return self.top if mine is None or mine in self.top else [*self.top, mine]

    def with_members(self, member_ids: Iterable[int]) -> list[Bid]:
        extra = [self.standing[m] for m in member_ids if m in self.standing]
        return [*self.top, *(b for b in extra if b not in self.top)]


def _rank(bid: Bid) -> tuple[int, int]:
    return (-bid.amount, bid.sequence)
