"""Open-loop load for the benchmarks: arrivals on a schedule, never waiting for answers.

A closed loop (each client presses again the moment it is answered) measures how fast a server
answers a queue it is itself refilling; a drop does not arrive like that. Here every arrival is
sent at its scheduled time, on its own keep-alive connection (one per signed-in member, opened and
warmed before the clock starts), whether or not earlier arrivals have been answered, and each
records when it was sent and when its answer came.

- ``burst_schedule``: N arrivals spread at random over the first ``spread`` seconds (a drop's
  opening: thousands press within a second, then wait).
- ``rate_schedule``: arrivals at a constant rate for a while (one step of a sweep).
- ``fire``: send them, each at its time.
- ``burst_summary``: how a burst on a drop of ``units`` went: when the last unit was decided, the
  answers' p50/p99/max, 5xx, and fairness (the share of the units granted to the ``units`` presses
  sent first).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Arrival:
    index: int  # its place in the schedule
    due: float  # seconds after the opening it is scheduled for
    sent: float = 0.0  # seconds after the opening it was sent (>= due)
    answered: float = 0.0  # seconds after the opening its answer came (or it failed)
    status: int = 0  # 0: no HTTP answer
    outcome: str = ""

    @property
    def latency_ms(self) -> float:
        return (self.answered - self.sent) * 1000


def burst_schedule(n: int, spread: float = 1.0, seed: int = 17) -> list[float]:
    """``n`` arrival times, uniformly at random in ``[0, spread)``, in order."""
    rng = random.Random(seed)
    return sorted(rng.random() * spread for _ in range(n))


def rate_schedule(rate: float, seconds: float) -> list[float]:
    """Arrivals every ``1 / rate`` seconds for ``seconds`` (evenly: the sweep's steps compare rates)."""
    count = int(rate * seconds)
    return [i / rate for i in range(count)]


Send = Callable[[int], Awaitable[tuple[int, str]]]  # arrival index -> (HTTP status, outcome)


async def fire(schedule: Sequence[float], send: Send, answer_within: float = 60.0) -> tuple[list[Arrival], float]:
    """Send arrival ``i`` at ``schedule[i]`` seconds after now through ``send(i)``; never wait for
    an answer before sending the next. Returns the arrivals and the opening's clock (perf_counter)."""
    arrivals = [Arrival(i, due) for i, due in enumerate(schedule)]
    opening = time.perf_counter() + 0.05  # every task is waiting before the first is due

    async def one(arrival: Arrival) -> None:
        delay = opening + arrival.due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        arrival.sent = time.perf_counter() - opening
        try:
            async with asyncio.timeout(answer_within):
                arrival.status, arrival.outcome = await send(arrival.index)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            arrival.outcome = type(exc).__name__
        arrival.answered = time.perf_counter() - opening

    await asyncio.gather(*(one(a) for a in arrivals))
    return arrivals, opening


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


@dataclass
class BurstSummary:
    arrivals: int
    outcomes: Counter[str] = field(default_factory=Counter)
    fivexx: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    last_unit_s: float | None = None  # from the opening until the last unit granted was answered
    fairness: float | None = None  # share of the units granted to the first `units` presses sent
    late_ms_p99: float = 0.0  # how late the generator sent (its own lag), p99


def burst_summary(arrivals: Sequence[Arrival], units: int | None) -> BurstSummary:
    summary = BurstSummary(len(arrivals))
    summary.outcomes = Counter(a.outcome for a in arrivals)
    summary.fivexx = sum(1 for a in arrivals if a.status >= 500)
    latencies = [a.latency_ms for a in arrivals]
    summary.p50_ms, summary.p99_ms = percentile(latencies, 50), percentile(latencies, 99)
    summary.max_ms = max(latencies, default=0.0)
    summary.late_ms_p99 = percentile([(a.sent - a.due) * 1000 for a in arrivals], 99)
    granted = [a for a in arrivals if a.outcome == "granted"]
    if units and granted:
        summary.last_unit_s = max(a.answered for a in granted)
        first = {a.index for a in sorted(arrivals, key=lambda a: (a.sent, a.index))[:units]}
        summary.fairness = sum(1 for a in granted if a.index in first) / units
    return summary
