"""Pure rules of a draw: a seed committed before the entry window opens (its SHA-256 is shown
while the window is open, the seed itself is revealed after), the draw order anyone can recompute
from the published entry ids and the seed, and the cascade that passes an unpaid unit on to the
next entry in that order. No I/O.

The order is ``sorted(ids, key=lambda i: (sha256(f"{seed}:{i}").hexdigest(), i))``: each entry's
place depends only on the seed and its own id, so the order does not depend on the order in which
entries arrived or were listed, and nobody who knows only the commitment can predict it."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum, auto

SEED_BYTES = 32


def new_seed() -> str:
    """A fresh seed: 32 random bytes as 64 lowercase hex characters."""
    return secrets.token_bytes(SEED_BYTES).hex()


def commitment(seed: str) -> str:
    """The SHA-256 of the seed's ASCII text, shown while the window is open, so the seed cannot be
    chosen after the entries are known. A seed that is not ASCII raises ``UnicodeEncodeError`` (a
    ``ValueError``)."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def rank_key(seed: str, entry_id: int) -> str:
    """The key an entry is ordered by: ``sha256("<seed>:<entry id>")`` in lowercase hex."""
    return hashlib.sha256(f"{seed}:{entry_id}".encode()).hexdigest()


def _distinct(ids: Iterable[int], what: str) -> list[int]:
    """``ids`` as a list, refusing one that appears twice (it would get two places)."""
    listed = list(ids)
    if len(set(listed)) != len(listed):
        raise ValueError(f"an {what} appears more than once")
    return listed


def draw_order(seed: str, entry_ids: Iterable[int]) -> list[int]:
    """Every entry id, ordered by ``(rank_key(seed, id), id)``; the id breaks a (practically
    impossible) tie of hashes, so the order is total."""
    ids = _distinct(entry_ids, "entry id")
    return sorted(ids, key=lambda entry_id: (rank_key(seed, entry_id), entry_id))


@dataclass(frozen=True)
class DrawResult:
    seed: str
    order: tuple[int, ...]  # every entry, in draw order: the cascade's line after the winners
    winners: tuple[int, ...]  # the first ``units`` of the order


def draw(seed: str, entry_ids: Iterable[int], units: int) -> DrawResult:
    """The draw for ``units`` units: the winners are the head of the draw order (everyone when
    there are fewer entries than units)."""
    if units < 0:
        raise ValueError("units must not be negative")
    order = tuple(draw_order(seed, entry_ids))
    return DrawResult(seed=seed, order=order, winners=order[:units])


class Offer(StrEnum):
    """Where an entry stands in the cascade. Each value is its name in lower case."""

    PENDING = auto()  # not offered yet
    HOLDING = auto()  # offered, the right to buy is live
    PAID = auto()
    LAPSED = auto()  # offered, not paid in time or given up: never offered again


TAKEN = frozenset({Offer.HOLDING, Offer.PAID})


def next_offers(order: Sequence[int], states: Mapping[int, Offer], units: int) -> list[int]:
    """The entries to offer now so that HOLDING + PAID reaches ``units``: the first PENDING
    entries in draw order (an entry missing from ``states`` is PENDING). An entry once offered is
    never offered again. Every HOLDING or PAID entry in ``states`` counts against the units, listed
    in ``order`` or not, so the cascade never offers more units than there are."""
    if units < 0:
        raise ValueError("units must not be negative")
    _distinct(order, "entry id")
    free = units - sum(1 for state in states.values() if state in TAKEN)
    if free <= 0:
        return []
    offers: list[int] = []
    for entry_id in order:
        if states.get(entry_id, Offer.PENDING) == Offer.PENDING:
            offers.append(entry_id)
            if len(offers) == free:
                break
    return offers


def verify(seed: str, published_commitment: str, entry_ids: Iterable[int], units: int) -> DrawResult:
    """The draw recomputed from what was published, after checking that the revealed seed is the
    one committed to (``ValueError`` when it is not)."""
    if commitment(seed) != published_commitment:
        raise ValueError("the seed does not match the published commitment")
    return draw(seed, entry_ids, units)
