"""The maths of the seller's live charts: bucket widths, cumulative and per-second series, the
replay of an auction's bids with its own ranking, and where points fall in the SVG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sellers import chart_rules as c

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "width"),
    [(0, 1), (1, 1), (120, 1), (121, 2), (240, 2), (241, 5), (3600, 30), (7200, 60), (86400, 900), (10**8, 864000)],
)
def test_buckets_are_one_second_at_first_and_coarser_later(elapsed, width):
    assert c.bucket_width(elapsed) == width


@given(st.floats(min_value=0, max_value=10**9))
def test_never_more_than_the_maximum_number_of_points(elapsed):
    width = c.bucket_width(elapsed)
    assert 1 <= c.bucket_count(elapsed, width) <= c.MAX_POINTS
    if width > 1 and width in c.NICE_WIDTHS:  # the narrowest that fits: the one before does not
        finer = c.NICE_WIDTHS[c.NICE_WIDTHS.index(width) - 1]
        assert c.bucket_count(elapsed, finer) > c.MAX_POINTS


def test_cumulative_counts_clamp_to_the_chart():
    assert c.cumulative({0: 2, 2: 1}, 4) == [2, 2, 3, 3]
    assert c.cumulative({-3: 1, 9: 1}, 3) == [1, 1, 2]  # before the start: the first; after: the last
    assert c.cumulative({}, 2) == [0, 0]
    assert c.per_second({1: 10}, 3, 5) == [0.0, 2.0, 0.0]


def test_a_drop_since_its_opening():
    chart = c.sell_through(T0, T0 + timedelta(seconds=10), {0: 1, 3: 2}, {5: 1}, {0: 4, 3: 10}, 1)
    assert chart.taken == [1, 1, 1, 3, 3, 3, 3, 3, 3, 3]
    assert chart.paid == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert chart.peak_presses == 10.0 and chart.starts[3] == T0 + timedelta(seconds=3)
    rows = chart.rows()  # the first, every bucket with presses or a change, the last
    assert [r[0] for r in rows] == [T0 + timedelta(seconds=s) for s in (0, 3, 5, 9)]
    assert rows[1][1:] == (3, 0, 10.0)


def test_winning_bids_replayed_with_the_auctions_ranking():
    at = [T0 + timedelta(seconds=s) for s in range(6)]
    bids = [
        c.PlacedBid(1, 10_000, 1, at[0]),
        c.PlacedBid(2, 12_000, 2, at[1]),
        c.PlacedBid(3, 12_000, 3, at[2]),  # a tie: the earlier bid (member 2) ranks first
        c.PlacedBid(1, 15_000, 4, at[3]),  # member 1 raises: their 10,000 no longer stands
    ]
    steps = c.replay_winning_bids(reversed(bids), units=2)  # replayed in stored order whatever the input
    assert [(s.highest, s.lowest) for s in steps] == [
        (10_000, 10_000),  # fewer bidders than units: the lowest standing wins
        (12_000, 10_000),
        (12_000, 12_000),  # the 2nd highest of three
        (15_000, 12_000),
    ]
    single = c.replay_winning_bids(bids, units=1)
    assert [s.lowest for s in single] == [10_000, 12_000, 12_000, 15_000]


def test_the_bid_chart_carries_the_standing_forward():
    steps = [
        c.WinningBids(T0 + timedelta(seconds=2), 10_000, 10_000),
        c.WinningBids(T0 + timedelta(seconds=5), 13_000, 11_000),
    ]
    chart = c.bid_chart(T0, T0 + timedelta(seconds=8), steps, 1)
    assert chart.highest == [None, None, 10_000, 10_000, 10_000, 13_000, 13_000, 13_000]
    assert chart.lowest[5:] == [11_000] * 3
    assert [r[1] for r in chart.rows()] == [None, 10_000, 13_000, 13_000]


def test_nice_axis_tops():
    assert [c.nice_ceiling(v) for v in (0, 0.3, 1, 3, 7, 12_000, 25_001)] == [1, 0.5, 1, 5, 10, 20_000, 50_000]


def test_points_land_inside_the_frame():
    frame = c.Frame(10, 20, 100, 50)
    assert c.polyline([0, 5, 10], 10, frame) == "10.0,70.0 60.0,45.0 110.0,20.0"
    assert c.polyline([None, 20], 10, frame) == "110.0,20.0"  # over the top: clamped; None: skipped
    assert c.x_at(0, 1, frame) == 10
    [bar] = c.bars([0, 2], 4, frame)
    assert (bar.x, bar.y, bar.height) == (60.0, 45.0, 25.0) and bar.width == pytest.approx(40.0)


def test_the_plots_scale_to_the_stock_and_the_peak():
    chart = c.sell_through(T0, T0 + timedelta(seconds=3), {0: 2}, {}, {0: 3}, 1)
    assert [t.value for t in c.sell_through_plot(chart, stock=4).unit_ticks] == [0, 5]  # 5: one step
    plot = c.sell_through_plot(chart, stock=10)
    assert [t.value for t in plot.unit_ticks] == [0, 5, 10]
    assert plot.unit_ticks[-1].y == c.UNITS_FRAME.top and plot.unit_ticks[0].y == c.UNITS_FRAME.bottom
    assert plot.taken.split()[0] == f"{c.UNITS_FRAME.left:.1f},{c.UNITS_FRAME.bottom - c.UNITS_FRAME.height / 5:.1f}"
    [bar] = plot.presses  # 3 presses/s on an axis up to 5
    assert bar.y == pytest.approx(c.PRESSES_FRAME.bottom - c.PRESSES_FRAME.height * 3 / 5)
    empty = c.bid_plot(c.bid_chart(T0, T0 + timedelta(seconds=2), [], 1), start_price=10_000)
    assert empty.highest == "" and [t.value for t in empty.ticks] == [0, 5_000, 10_000]
