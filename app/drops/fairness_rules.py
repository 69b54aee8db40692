"""Pure rules of a drop's fairness report: the spread of waits (median, 90th percentile, longest)
and the count of moments per minute of local time. No I/O."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Spread:
    """How long something took across a drop's shoppers (all None when nobody did it)."""

    count: int
    median: timedelta | None
    p90: timedelta | None
    longest: timedelta | None


def nearest_rank(ordered: Sequence[timedelta], share: float) -> timedelta:
    """The nearest-rank percentile of an ordered, non-empty list: the smallest value that at least
    ``share`` of the values do not exceed."""
    if not ordered:
        raise ValueError("a percentile of nothing")
    if not 0 < share <= 1:
        raise ValueError("the share is above 0 and at most 1")
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def spread(waits: Iterable[timedelta]) -> Spread:
    """The median (nearest rank), the 90th percentile and the longest of ``waits``; a negative wait
    (clocks of two hosts) counts as none."""
    ordered = sorted(max(wait, timedelta(0)) for wait in waits)
    if not ordered:
        return Spread(0, None, None, None)
    return Spread(len(ordered), nearest_rank(ordered, 0.5), nearest_rank(ordered, 0.9), ordered[-1])


@dataclass(frozen=True)
class Minute:
    starts_at: datetime  # aware, in the zone it was counted in
    count: int
    done: int  # of those, how many went on (let in, then bought)


def per_minute(moments: Iterable[tuple[datetime, bool]], zone: ZoneInfo, limit: int = 120) -> list[Minute]:
    """``(moment, went on)`` pairs counted by the minute of ``zone`` they fall in, in time order;
    at most ``limit`` minutes, the last of them holding every later moment too (a line let in over
    hours stays one screen)."""
    if limit < 1:
        raise ValueError("the report shows at least one minute")
    counts: Counter[datetime] = Counter()
    done: Counter[datetime] = Counter()
    for moment, went_on in moments:
        if moment.tzinfo is None:
            raise ValueError("moments must be aware")
        minute = moment.astimezone(zone).replace(second=0, microsecond=0)
        counts[minute] += 1
        done[minute] += went_on
    minutes = sorted(counts)
    kept, rest = minutes[: limit - 1], minutes[limit - 1 :]
    rows = [Minute(m, counts[m], done[m]) for m in kept]
    if rest:
        rows.append(Minute(rest[0], sum(counts[m] for m in rest), sum(done[m] for m in rest)))
    return rows
