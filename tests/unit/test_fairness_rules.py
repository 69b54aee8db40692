"""The fairness report's pure rules: the spread of waits and the moments counted per local minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.drops.fairness_rules import Minute, Spread, nearest_rank, per_minute, spread

SEOUL = ZoneInfo("Asia/Seoul")
T0 = datetime(2026, 12, 4, 14, 59, 30, tzinfo=UTC)


def seconds(*values: float) -> list[timedelta]:
    return [timedelta(seconds=v) for v in values]


def test_nobody_has_no_spread() -> None:
    assert spread([]) == Spread(0, None, None, None)


def test_the_median_the_90th_percentile_and_the_longest_by_nearest_rank() -> None:
    s = spread(seconds(10, 1, 9, 2, 8, 3, 7, 4, 6, 5))
    assert s == Spread(10, timedelta(seconds=5), timedelta(seconds=9), timedelta(seconds=10))
    assert spread(seconds(42)) == Spread(1, *seconds(42, 42, 42))


def test_a_negative_wait_counts_as_none() -> None:
    assert spread(seconds(-3, 4)).median == timedelta(0)


@pytest.mark.parametrize("share", [0, -0.1, 1.01])
def test_a_percentile_needs_a_share_in_range(share: float) -> None:
    with pytest.raises(ValueError):
        nearest_rank(seconds(1), share)
    with pytest.raises(ValueError):
        nearest_rank([], 0.5)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60))
def test_the_spread_is_ordered_and_made_of_the_waits(values: list[int]) -> None:
    waits = seconds(*values)
    s = spread(waits)
    assert s.count == len(waits)
    assert s.median is not None and s.p90 is not None and s.longest is not None
    assert min(waits) <= s.median <= s.p90 <= s.longest == max(waits)
    assert {s.median, s.p90} <= set(waits)
    assert sum(w <= s.median for w in waits) * 2 >= len(waits)
    assert sum(w <= s.p90 for w in waits) * 10 >= 9 * len(waits)


def test_moments_are_counted_by_the_local_minute_in_time_order() -> None:
    moments = [(T0 + timedelta(seconds=40), True), (T0, False), (T0 + timedelta(seconds=20), True)]
    rows = per_minute(moments, SEOUL)
    assert rows == [
        Minute(datetime(2026, 12, 4, 23, 59, tzinfo=SEOUL), 2, 1),  # 23:59:30 and 23:59:50 KST
        Minute(datetime(2026, 12, 5, 0, 0, tzinfo=SEOUL), 1, 1),  # 00:00:10, the next day
    ]
    assert rows[0].starts_at.utcoffset() == timedelta(hours=9)


def test_past_the_limit_the_last_minute_holds_every_later_moment() -> None:
    moments = [(T0 + timedelta(minutes=n), n % 2 == 0) for n in range(10)]
    rows = per_minute(moments, SEOUL, limit=3)
    assert [r.count for r in rows] == [1, 1, 8]
    assert [r.done for r in rows] == [1, 0, 4]
    assert sum(r.count for r in rows) == 10
    with pytest.raises(ValueError):
        per_minute(moments, SEOUL, limit=0)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError):
        per_minute([(datetime(2026, 12, 4, 12, 0), True)], SEOUL)
