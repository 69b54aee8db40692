"""The maths of the seller's live charts, apart from any I/O: how wide a chart's time buckets are
(one second at the start of a sale, coarser as it runs, never more than ``MAX_POINTS`` of them),
the cumulative and per-second series of a drop, the highest and lowest winning bid of an auction
replayed bid by bid with the auction's own ranking, and where each point falls in an SVG's
``viewBox``. Pure: unit-tested without a database."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auctions.ranking import Bid, Board

MAX_POINTS = 120
# Bucket widths in seconds, the finest first: 1 s for the first two minutes, then coarser.
NICE_WIDTHS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def bucket_width(elapsed_seconds: float, max_points: int = MAX_POINTS) -> int:
    """The narrowest nice width (seconds) that covers ``elapsed_seconds`` in at most ``max_points``
    buckets (whole days past the widest nice width)."""
    elapsed = max(elapsed_seconds, 1.0)
    for width in NICE_WIDTHS:
        if math.ceil(elapsed / width) <= max_points:
            return width
    day = NICE_WIDTHS[-1]
    return day * math.ceil(elapsed / (day * max_points))


def bucket_count(elapsed_seconds: float, width: int) -> int:
    """How many buckets of ``width`` seconds reach from the start to ``elapsed_seconds`` (at least one)."""
    return max(1, math.ceil(max(elapsed_seconds, 1.0) / width))


def cumulative(counts: Mapping[int, int], buckets: int) -> list[int]:
    """Running totals at the end of each bucket ``0..buckets-1`` of the counts per bucket index
    (an index before the start counts in the first bucket, one past the end in the last)."""
    per_bucket = [0] * buckets
    for index, count in counts.items():
        per_bucket[min(max(index, 0), buckets - 1)] += count
    totals, running = [], 0
    for count in per_bucket:
        running += count
        totals.append(running)
    return totals


def per_second(counts: Mapping[int, int], buckets: int, width: int) -> list[float]:
    """Events per second in each bucket of ``width`` seconds."""
    per_bucket = [0] * buckets
    for index, count in counts.items():
        per_bucket[min(max(index, 0), buckets - 1)] += count
    return [count / width for count in per_bucket]


@dataclass(frozen=True)
class SellThrough:
    """A drop since its opening: per bucket of ``width`` seconds, the units taken (purchase rights
    granted) and paid so far, and the Buy presses per second (granted or refused)."""

    opened_at: datetime
    width: int
    taken: list[int]
    paid: list[int]
    presses: list[float]

    @property
    def starts(self) -> list[datetime]:
        return [self.opened_at + timedelta(seconds=i * self.width) for i in range(len(self.taken))]

    @property
    def peak_presses(self) -> float:
        return max(self.presses, default=0.0)

    def rows(self) -> list[tuple[datetime, int, int, float]]:
        """The table behind the chart: the buckets where something happened, and the first and
        last (start, taken so far, paid so far, presses per second)."""
        starts, last = self.starts, len(self.taken) - 1
        return [
            (starts[i], self.taken[i], self.paid[i], self.presses[i])
            for i in range(len(self.taken))
            if i in (0, last) or self.presses[i] or _changed(self.taken, i) or _changed(self.paid, i)
        ]


def sell_through(
    opened_at: datetime,
    now: datetime,
    taken: Mapping[int, int],
    paid: Mapping[int, int],
    presses: Mapping[int, int],
    width: int,
) -> SellThrough:
    """The series of a drop from counts per bucket index (bucket ``i`` starts ``i × width``
    seconds after ``opened_at``)."""
    buckets = bucket_count((now - opened_at).total_seconds(), width)
    return SellThrough(
        opened_at,
        width,
        cumulative(taken, buckets),
        cumulative(paid, buckets),
        per_second(presses, buckets, width),
    )


@dataclass(frozen=True)
class PlacedBid:
    """A stored bid, as the replay reads it: who, how much, its sequence, when."""

    member_id: int
    amount: int
    sequence: int
    at: datetime


@dataclass(frozen=True)
class WinningBids:
    """After one bid: the highest bid and the lowest bid that still wins a unit."""

    at: datetime
    highest: int
    lowest: int


def replay_winning_bids(bids: Iterable[PlacedBid], units: int) -> list[WinningBids]:
    """Replay the bids in their stored order with the auction's ranking (a member's later bid
    replaces their earlier one; equal amounts go to the earlier bid): after each, the highest bid
    and the lowest winning one (the ``units``-th highest, or the lowest standing while fewer
    bidders than units stand)."""
    board = Board([], units)
    out: list[WinningBids] = []
    for bid in sorted(bids, key=lambda b: b.sequence):
        board.put(Bid(bid.member_id, bid.amount, bid.sequence))
        winning = board.top[:units]
        out.append(WinningBids(bid.at, winning[0].amount, winning[-1].amount))
    return out


@dataclass(frozen=True)
class BidChart:
    """An auction since its start: per bucket of ``width`` seconds, the highest and lowest winning
    bid at the bucket's end (None before the first bid)."""

    started_at: datetime
    width: int
    highest: list[int | None]
    lowest: list[int | None]

    @property
    def starts(self) -> list[datetime]:
        return [self.started_at + timedelta(seconds=i * self.width) for i in range(len(self.highest))]

    def rows(self) -> list[tuple[datetime, int | None, int | None]]:
        """The table behind the chart: the first and last bucket and those where a bid changed the
        highest or the lowest winning bid (start, highest, lowest winning)."""
        starts, last = self.starts, len(self.highest) - 1
        return [
            (starts[i], self.highest[i], self.lowest[i])
            for i in range(len(self.highest))
            if i in (0, last) or _changed(self.highest, i) or _changed(self.lowest, i)
        ]


def _changed(values: Sequence[int | None], index: int) -> bool:
    return index > 0 and values[index] != values[index - 1]


def bid_chart(started_at: datetime, now: datetime, steps: Sequence[WinningBids], width: int) -> BidChart:
    """The replayed steps sampled at the end of each bucket (the last step within or before it)."""
    buckets = bucket_count((now - started_at).total_seconds(), width)
    highest: list[int | None] = [None] * buckets
    lowest: list[int | None] = [None] * buckets
    for step in steps:
        index = min(max(int((step.at - started_at).total_seconds() // width), 0), buckets - 1)
        highest[index], lowest[index] = step.highest, step.lowest
    for i in range(1, buckets):  # a bucket without a bid keeps the standing of the one before
        if highest[i] is None:
            highest[i], lowest[i] = highest[i - 1], lowest[i - 1]
    return BidChart(started_at, width, highest, lowest)


# ---------------------------------------------------------------- geometry of the SVG


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at least ``value`` (1 for nothing), the top of an axis."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power + 1e-9:
            return step * power
    return 10.0 * power  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Frame:
    """A plotting area inside the viewBox: left, top, width, height (viewBox units)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


def x_at(index: int, count: int, frame: Frame) -> float:
    """The x of point ``index`` of ``count`` points spread over the frame's width."""
    if count <= 1:
        return frame.left
    return frame.left + frame.width * index / (count - 1)


def y_at(value: float, top: float, frame: Frame) -> float:
    """The y of ``value`` on an axis from 0 (the frame's bottom) to ``top`` (its top)."""
    share = min(max(value / top, 0.0), 1.0) if top > 0 else 0.0
    return frame.bottom - frame.height * share


def polyline(values: Sequence[float | None], top: float, frame: Frame) -> str:
    """The ``points`` of an SVG polyline (gaps for None are skipped)."""
    count = len(values)
    return " ".join(
        f"{x_at(i, count, frame):.1f},{y_at(v, top, frame):.1f}" for i, v in enumerate(values) if v is not None
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


def bars(values: Sequence[float], top: float, frame: Frame) -> list[Bar]:
    """One bar per value across the frame (nothing for a zero)."""
    if not values:
        return []
    slot = frame.width / len(values)
    out = []
    for i, value in enumerate(values):
        if value <= 0:
            continue
        y = y_at(value, top, frame)
        out.append(Bar(frame.left + i * slot, y, max(slot * 0.8, 0.5), frame.bottom - y))
    return out


def ticks(top: float, count: int = 2) -> list[float]:
    """Axis labels from 0 to ``top`` in ``count`` equal steps."""
    return [top * i / count for i in range(count + 1)]


# ---------------------------------------------------------------- the two charts' plots

VIEW_WIDTH, VIEW_HEIGHT = 640, 290
UNITS_FRAME = Frame(64, 16, 560, 150)  # cumulative units taken and paid
PRESSES_FRAME = Frame(64, 196, 560, 56)  # presses per second, as bars
BIDS_FRAME = Frame(80, 16, 544, 236)  # highest and lowest winning bid


@dataclass(frozen=True)
class Tick:
    value: float
    y: float


@dataclass(frozen=True)
class SellThroughPlot:
    taken: str  # polyline points
    paid: str
    presses: list[Bar]
    unit_ticks: list[Tick]
    press_ticks: list[Tick]


def sell_through_plot(chart: SellThrough, stock: int) -> SellThroughPlot:
    """Where the lines and bars of a drop's chart fall: units on an axis up to the stock (or what
    was taken, if more), presses per second on their own axis up to the peak."""
    unit_top = nice_ceiling(max(stock, *chart.taken, 1))
    press_top = nice_ceiling(chart.peak_presses)
    return SellThroughPlot(
        polyline(chart.taken, unit_top, UNITS_FRAME),
        polyline(chart.paid, unit_top, UNITS_FRAME),
        bars(chart.presses, press_top, PRESSES_FRAME),
        [Tick(v, y_at(v, unit_top, UNITS_FRAME)) for v in ticks(unit_top, 2 if unit_top % 2 == 0 else 1)],
        [Tick(v, y_at(v, press_top, PRESSES_FRAME)) for v in ticks(press_top, 1)],
    )


@dataclass(frozen=True)
class BidPlot:
    highest: str
    lowest: str
    ticks: list[Tick]


def bid_plot(chart: BidChart, start_price: int) -> BidPlot:
    """Where the lines of an auction's chart fall: won on an axis from 0 up past the highest bid
    (the start price while nobody has bid)."""
    top = nice_ceiling(max([start_price, *(v for v in chart.highest if v is not None)]))
    return BidPlot(
        polyline(chart.highest, top, BIDS_FRAME),
        polyline(chart.lowest, top, BIDS_FRAME),
        [Tick(v, y_at(v, top, BIDS_FRAME)) for v in ticks(top)],
    )
