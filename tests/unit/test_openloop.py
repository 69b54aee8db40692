"""The benchmarks' open-loop load (bench/openloop.py): arrivals go out on their schedule whatever
the answers, and a burst's fairness and last decided unit come from the arrivals' own times."""

from __future__ import annotations

import asyncio

from bench.openloop import (
    STARVED,
    Arrival,
    Pool,
    StepSummary,
    burst_schedule,
    burst_summary,
    fire,
    fire_pooled,
    highest_passing,
    rate_schedule,
    ratio,
    step_summary,
    sweep,
)


def test_a_burst_schedule_is_ordered_within_its_spread_and_repeatable():
    times = burst_schedule(1_000, spread=1.0, seed=3)
    assert len(times) == 1_000 and times == sorted(times)
    assert 0 <= times[0] and times[-1] < 1.0 and times[-1] - times[0] > 0.9
    assert times == burst_schedule(1_000, spread=1.0, seed=3) != burst_schedule(1_000, spread=1.0, seed=4)


def test_a_rate_schedule_sends_evenly():
    assert rate_schedule(4, 1.5) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]


async def test_an_arrival_is_sent_on_time_while_earlier_ones_wait_for_their_answers():
    """The first answer takes 0.5 s; the other arrivals still leave at their times."""

    async def send(i: int) -> tuple[int, str]:
        await asyncio.sleep(0.5 if i == 0 else 0.01)
        return 200, "ok"

    arrivals, _ = await fire([0.0, 0.1, 0.2], send)
    assert [round(a.sent, 1) for a in arrivals] == [0.0, 0.1, 0.2]
    assert arrivals[0].latency_ms >= 500 > arrivals[1].latency_ms
    assert all(a.status == 200 and a.outcome == "ok" for a in arrivals)


async def test_an_unanswered_arrival_is_counted_as_its_failure():
    async def send(i: int) -> tuple[int, str]:
        raise ConnectionResetError

    arrivals, _ = await fire([0.0], send)
    assert arrivals[0].outcome == "ConnectionResetError" and arrivals[0].status == 0


def test_fairness_is_the_share_of_units_granted_to_the_presses_sent_first():
    # 4 presses for 2 units, sent in the order 0, 1, 2, 3; units went to 1 (sent 2nd) and 3 (sent last)
    arrivals = [
        Arrival(0, 0.0, sent=0.00, answered=0.20, status=200, outcome="sold_out"),
        Arrival(1, 0.1, sent=0.10, answered=0.30, status=200, outcome="granted"),
        Arrival(2, 0.2, sent=0.20, answered=0.40, status=503, outcome="HTTP 503"),
        Arrival(3, 0.3, sent=0.30, answered=0.90, status=200, outcome="granted"),
    ]
    summary = burst_summary(arrivals, units=2)
    assert summary.fairness == 0.5  # of the first two sent (0 and 1), only 1 was granted
    assert round(summary.reordered_ms) == 300  # 0 (sent at 0.0) refused, 3 (sent at 0.3) granted
    assert summary.last_unit_s == 0.90
    assert summary.fivexx == 1 and summary.outcomes["granted"] == 2
    assert round(summary.max_ms) == 600


# ---------------------------------------------------------------- sweep: constant rates from a pool


def answered(i: int, ms: float, status: int = 200, due: float | None = None) -> Arrival:
    due = i * 0.01 if due is None else due
    return Arrival(i, due, sent=due, answered=due + ms / 1000, status=status, outcome="ok")


def test_a_step_counts_its_starved_failed_and_5xx_arrivals_as_slower_than_any_limit():
    # 100 arrivals at 100/s: 97 answered in 10 ms, one 503, one reset, one starved
    arrivals = [answered(i, 10) for i in range(97)]
    arrivals.append(answered(97, 5, status=503))
    arrivals.append(Arrival(98, 0.98, sent=0.98, answered=0.99, outcome="ConnectionResetError"))
    arrivals.append(Arrival(99, 0.99, sent=0.99, answered=0.99, outcome=STARVED))
    step = step_summary(arrivals, rate=100, seconds=1.0, limit_ms=250)
    assert (step.scheduled, step.sent, step.answered) == (100, 99, 98)
    assert (step.starved, step.failed, step.fivexx) == (1, 1, 1)
    assert round(step.p50_ms) == 10
    assert step.p99_ms == float("inf")  # 3 of 100 missed: the 99th percentile is a miss
    assert not step.passed and not step.kept_up


def test_a_step_passes_on_its_p99_and_keeps_up_when_every_arrival_is_answered_in_time():
    fast = [answered(i, 20) for i in range(100)]
    step = step_summary(fast, rate=100, seconds=1.0)
    assert step.passed and step.kept_up and round(step.p99_ms) == 20
    # of 200 answers, one slow one is above the 99th percentile; two are not
    one_slow = [answered(i, 300 if i == 50 else 20, due=i * 0.005) for i in range(200)]
    assert step_summary(one_slow, rate=200, seconds=1.0).passed is True
    two_slow = [answered(i, 300 if i in (10, 50) else 20, due=i * 0.005) for i in range(200)]
    assert step_summary(two_slow, rate=200, seconds=1.0).passed is False
    # answered, but at half the rate: it passes the latency limit and did not keep up
    behind = [answered(i, 20, due=i * 0.02) for i in range(100)]
    lagging = step_summary(behind, rate=100, seconds=1.0)
    assert lagging.passed and not lagging.kept_up


def step(rate: float, passed: bool) -> StepSummary:
    return StepSummary(rate, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, passed=passed)


def test_the_highest_passing_rate_is_the_last_before_the_first_failing_step():
    assert highest_passing([step(250, True), step(500, True), step(1000, False)]) == 500
    assert highest_passing([step(250, True), step(500, False), step(1000, True)]) == 250
    assert highest_passing([step(250, False)]) is None
    assert highest_passing([]) is None
    assert ratio(400, 1000) == 0.4 and ratio(None, 1000) == 0.0 and ratio(400, None) is None


async def test_an_arrival_with_no_idle_connection_is_starved_and_the_schedule_goes_on():
    """Two connections, four arrivals 10 ms apart, answers taking 100 ms: the third and fourth find
    both connections awaiting their answers; they are counted, not sent, and not delayed."""
    used: list[tuple[int, str]] = []

    async def send(i: int, connection: str) -> tuple[int, str]:
        used.append((i, connection))
        await asyncio.sleep(0.1)
        return 200, "ok"

    pool = Pool(["a", "b"])
    arrivals = await fire_pooled([0.0, 0.01, 0.02, 0.03], pool, send)
    assert [a.outcome for a in arrivals] == ["ok", "ok", STARVED, STARVED]
    assert used == [(0, "a"), (1, "b")] and pool.starved == 2 and sorted(pool.idle) == ["a", "b"]
    assert all(abs(a.sent - a.due) < 0.02 for a in arrivals)


async def test_a_connection_is_given_back_after_its_answer_and_reused_by_a_later_arrival():
    async def send(i: int, connection: str) -> tuple[int, str]:
        await asyncio.sleep(0.01)
        if i == 1:
            raise ConnectionResetError
        return 200, connection

    arrivals = await fire_pooled([0.0, 0.05, 0.1], Pool(["only"]), send)
    assert [a.outcome for a in arrivals] == ["only", "ConnectionResetError", "only"]


async def test_a_sweep_stops_after_the_first_step_over_the_limit():
    async def send(i: int, connection: int) -> tuple[int, str]:
        await asyncio.sleep(0.002)
        return 200, "ok"

    seen: list[float] = []
    steps = await sweep(
        [20, 40, 80], 0.25, Pool(range(50)), send, pause=0.0, limit_ms=0.5, on_step=lambda s: seen.append(s.rate)
    )
    assert [s.rate for s in steps] == seen == [20]  # 2 ms answers are over a 0.5 ms limit
    steps = await sweep([20, 40], 0.25, Pool(range(50)), send, pause=0.0, limit_ms=250)
    assert [(s.rate, s.scheduled, s.passed) for s in steps] == [(20, 5, True), (40, 10, True)]
    assert highest_passing(steps) == 40
