"""Proxy bidding: members with a maximum bid for themselves, the least that puts them among the
winners, in turns, until nobody can; two proxies at war settle in a handful of steps. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.auctions.ranking import Bid, ranking


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
