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
- ``Pool`` and ``fire_pooled``: for a constant rate, a pool of signed-in keep-alive connections;
  each arrival takes an idle one (never one awaiting an answer) and gives it back when answered.
  With none idle the arrival is *starved*: counted, not sent, and the schedule goes on.
- ``sweep``: steps of rising constant rates, each summarised by ``step_summary`` (a 5xx, an
  unanswered or a starved arrival counts as slower than any limit); it stops after the first step
  whose p99 is over the limit. ``highest_passing`` is the highest rate before that step.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

C = TypeVar("C")
STARVED = "starved"  # no idle connection in the pool when it was due: not sent


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
    # the send times, around the last of the first `units` presses, within which presses were decided
    # out of send order: from the earliest of the first `units` refused to the latest after them granted
    reordered_ms: float | None = None


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
        early_refused = [a.sent for a in arrivals if a.index in first and a.outcome != "granted"]
        late_granted = [a.sent for a in granted if a.index not in first]
        if early_refused and late_granted:
            summary.reordered_ms = (max(late_granted) - min(early_refused)) * 1000
    return summary


# ---------------------------------------------------------------- constant rates, from a pool


class Pool(Generic[C]):
    """Idle connections, taken in turn (oldest first, so each is used and none sits idle for long)."""

    def __init__(self, connections: Iterable[C]) -> None:
        self.idle: deque[C] = deque(connections)
        self.size = len(self.idle)
        self.starved = 0

    def take(self) -> C | None:
        if not self.idle:
            self.starved += 1
            return None
        return self.idle.popleft()

    def give(self, connection: C) -> None:
        self.idle.append(connection)


PooledSend = Callable[[int, C], Awaitable[tuple[int, str]]]  # (arrival index, connection) -> (status, outcome)


async def fire_pooled(
    schedule: Sequence[float], pool: Pool[C], send: PooledSend[C], answer_within: float = 10.0
) -> list[Arrival]:
    """As ``fire``, each arrival on an idle connection of ``pool``; an arrival that finds none is
    marked ``starved`` (status 0) at its time and not sent. ``send`` must leave the connection
    usable (or closed, to be opened again) whatever happens."""
    arrivals = [Arrival(i, due) for i, due in enumerate(schedule)]
    opening = time.perf_counter() + 0.05

    async def one(arrival: Arrival) -> None:
        delay = opening + arrival.due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        arrival.sent = time.perf_counter() - opening
        connection = pool.take()
        if connection is None:
            arrival.answered, arrival.outcome = arrival.sent, STARVED
            return
        try:
            async with asyncio.timeout(answer_within):
                arrival.status, arrival.outcome = await send(arrival.index, connection)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            arrival.outcome = type(exc).__name__
        finally:
            pool.give(connection)
        arrival.answered = time.perf_counter() - opening

    await asyncio.gather(*(one(a) for a in arrivals))
    return arrivals


@dataclass
class StepSummary:
    rate: float  # arrivals per second scheduled
    seconds: float
    scheduled: int
    sent: int  # scheduled minus starved
    answered: int  # HTTP answers, any status
    starved: int
    failed: int  # sent, no HTTP answer (timeout, reset)
    fivexx: int
    p50_ms: float
    p99_ms: float  # over every scheduled arrival; a 5xx, failed or starved one counts as infinitely slow
    late_ms_p99: float  # the generator's own lag
    answer_rate: float  # answers (not 5xx) per second, first send to last answer
    passed: bool = False  # p99 <= the limit
    kept_up: bool = False  # every arrival answered without 5xx, at >= 95 % of the rate


def step_summary(arrivals: Sequence[Arrival], rate: float, seconds: float, limit_ms: float = 250.0) -> StepSummary:
    starved = sum(1 for a in arrivals if a.outcome == STARVED)
    answered = [a for a in arrivals if a.status]
    fivexx = sum(1 for a in answered if a.status >= 500)
    good = [a for a in answered if a.status < 500]
    latencies = [a.latency_ms if a.status and a.status < 500 else float("inf") for a in arrivals]
    span = max((a.answered for a in good), default=0.0) - min((a.sent for a in arrivals), default=0.0)
    summary = StepSummary(
        rate=rate,
        seconds=seconds,
        scheduled=len(arrivals),
        sent=len(arrivals) - starved,
        answered=len(answered),
        starved=starved,
        failed=len(arrivals) - starved - len(answered),
        fivexx=fivexx,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        late_ms_p99=percentile([(a.sent - a.due) * 1000 for a in arrivals], 99),
        answer_rate=len(good) / span if span > 0 else 0.0,
    )
    summary.passed = bool(arrivals) and summary.p99_ms <= limit_ms
    summary.kept_up = len(good) == len(arrivals) and summary.answer_rate >= 0.95 * rate
    return summary


def highest_passing(steps: Sequence[StepSummary]) -> float | None:
    """The highest rate of the steps that passed before the first that did not (rates rising)."""
    best = None
    for step in steps:
        if not step.passed:
            break
        best = step.rate
    return best


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; a missing numerator (not even the lowest step passed) is 0."""
    if not denominator:
        return None
    return (numerator or 0.0) / denominator


async def sweep(
    rates: Sequence[float],
    seconds: float,
    pool: Pool[C],
    send: PooledSend[C],
    *,
    pause: float = 2.0,
    limit_ms: float = 250.0,
    answer_within: float = 10.0,
    on_step: Callable[[StepSummary], None] | None = None,
) -> list[StepSummary]:
    """Each rate for ``seconds``, a ``pause`` between steps (every answer is in by then); stops after
    the first step whose p99 is over ``limit_ms``."""
    steps = []
    for i, rate in enumerate(rates):
        if i:
            await asyncio.sleep(pause)
        arrivals = await fire_pooled(rate_schedule(rate, seconds), pool, send, answer_within)
        step = step_summary(arrivals, rate, seconds, limit_ms)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        if not step.passed:
            break
    return steps
