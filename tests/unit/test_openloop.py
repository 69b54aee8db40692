"""The benchmarks' open-loop load (bench/openloop.py): arrivals go out on their schedule whatever
the answers, and a burst's fairness and last decided unit come from the arrivals' own times."""

from __future__ import annotations

import asyncio

from bench.openloop import Arrival, burst_schedule, burst_summary, fire, rate_schedule


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
    assert summary.last_unit_s == 0.90
    assert summary.fivexx == 1 and summary.outcomes["granted"] == 2
    assert round(summary.max_ms) == 600
