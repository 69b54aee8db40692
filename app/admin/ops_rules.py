"""The operations page's arithmetic: rates, batch sizes and decision times from the telemetry's
seconds, ages, and the short summary a screen reader is told. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.drops.telemetry import SecondStats

# Presses per second are counted over the last RATE_SECONDS; the other counts over WINDOW_SECONDS.
RATE_SECONDS = 10
WINDOW_SECONDS = 60
# Rights whose deadline falls within this many seconds are "expiring".
EXPIRING_SECONDS = 60
# Answers the database keeps no row for (the telemetry alone counts them).
NOT_KEPT = ("signed_out", "own_product", "conflict", "error")


@dataclass(frozen=True)
class DropCounts:
    """What the database says of one live drop (the counts of presses over the page's windows)."""

    product_id: int
    name: str
    status: str
    fixed_quantity: int
    taken_quantity: int
    granted_recent: int = 0  # rights written in the last RATE_SECONDS
    refused_recent: int = 0  # refusals kept in the last RATE_SECONDS
    granted: int = 0  # … in the last WINDOW_SECONDS
    refused: Mapping[str, int] = field(default_factory=dict)  # by outcome, in the last WINDOW_SECONDS
    held: int = 0  # rights waiting for their payment now
    expiring: int = 0  # of which the deadline falls in the next EXPIRING_SECONDS

    @property
    def left(self) -> int:
        return self.fixed_quantity - self.taken_quantity


@dataclass(frozen=True)
class BatchSummary:
    batches: int
    presses: int
    mean_size: float
    max_size: int
    mean_decision_ms: float
    max_decision_ms: float


@dataclass(frozen=True)
class DropRow:
    counts: DropCounts
    presses_per_second: float
    replays: int  # answered from the gate's memory in the window
    not_kept: int  # answers without a row (signed out, own product, errors) in the window
    batches: BatchSummary

    @property
    def refused(self) -> int:
        return sum(self.counts.refused.values())


def per_second(count: int, seconds: float) -> float:
    """``count`` events over ``seconds`` as a rate (0 over an empty window)."""
    return count / seconds if seconds > 0 else 0.0


def last(seconds: Sequence[SecondStats], n: int) -> Sequence[SecondStats]:
    """The newest ``n`` of ``seconds`` (oldest first, as the telemetry gives them)."""
    return seconds[-n:] if n > 0 else []


def summarise_batches(seconds: Sequence[SecondStats]) -> BatchSummary:
    batches = sum(s.batches for s in seconds)
    presses = sum(s.presses for s in seconds)
    decision_us = sum(s.decision_us for s in seconds)
    return BatchSummary(
        batches=batches,
        presses=presses,
        mean_size=presses / batches if batches else 0.0,
        max_size=max((s.size_max for s in seconds), default=0),
        mean_decision_ms=decision_us / batches / 1000 if batches else 0.0,
        max_decision_ms=max((s.decision_us_max for s in seconds), default=0) / 1000,
    )


def replays(seconds: Sequence[SecondStats]) -> int:
    return sum(sum(s.replays.values()) for s in seconds)


def not_kept(seconds: Sequence[SecondStats]) -> int:
    return sum(s.outcomes.get(outcome, 0) for s in seconds for outcome in NOT_KEPT)


def drop_row(counts: DropCounts, seconds: Sequence[SecondStats], rate_seconds: int = RATE_SECONDS) -> DropRow:
    """One drop's line: presses per second over the last ``rate_seconds`` (rows the database wrote,
    plus the answers it kept no row for and the gate's replays), the rest over all of ``seconds``."""
    recent = last(seconds, rate_seconds)
    presses = counts.granted_recent + counts.refused_recent + replays(recent) + not_kept(recent)
    return DropRow(
        counts=counts,
        presses_per_second=per_second(presses, rate_seconds),
        replays=replays(seconds),
        not_kept=not_kept(seconds),
        batches=summarise_batches(seconds),
    )


def age_seconds(since: datetime | None, now: datetime) -> int | None:
    """Whole seconds from ``since`` to ``now`` (never negative: clocks of two hosts differ a little)."""
    if since is None:
        return None
    return max(0, int((now - since).total_seconds()))


def split_age(seconds: int) -> tuple[int, str]:
    """An age in the largest unit it fills: (amount, "s" | "min" | "h" | "d"), rounded down."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return seconds // size, unit
    return max(0, seconds), "s"


@dataclass(frozen=True)
class Summary:
    """What the page's polite live region says: changes seldom, so it is not read out every poll."""

    live_drops: int
    unsent_events: int
    parked_events: int
    processes: int
    busy: bool  # presses arriving now on some drop

    @property
    def key(self) -> str:
        """Equal for two summaries that say the same thing (the page is told again only on a change)."""
        backlog = "backlog" if self.unsent_events else "clear"
        return f"{self.live_drops}.{backlog}.{self.parked_events}.{self.processes}.{int(self.busy)}"


def summarise(rows: Sequence[DropRow], unsent_events: int, parked_events: int, processes: int) -> Summary:
    busy = any(row.presses_per_second > 0 for row in rows)
    return Summary(len(rows), unsent_events, parked_events, processes, busy)
