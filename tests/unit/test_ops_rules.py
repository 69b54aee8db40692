"""The operations page's arithmetic: rates over a window, batch sizes and decision times from the
telemetry's seconds, ages, and the summary's key that changes only when what it says changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.admin.ops_rules import (
    DropCounts,
    age_seconds,
    drop_row,
    last,
    not_kept,
    per_second,
    replays,
    split_age,
    summarise,
    summarise_batches,
)
from app.drops.telemetry import BatchRecord, SecondStats, batch_fields

NOW = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)


def second(n: int, **fields: int) -> SecondStats:
    stats = SecondStats(n)
    stats.add(fields)
    return stats


def counts(**changes: object) -> DropCounts:
    return DropCounts(1, "Figure", "on_sale", 10, 3, **changes)  # type: ignore[arg-type]


def test_a_rate_is_the_count_over_the_window() -> None:
    assert per_second(25, 10) == 2.5
    assert per_second(0, 10) == 0.0
    assert per_second(5, 0) == 0.0


def test_batches_are_summarised_over_their_seconds() -> None:
    seconds = [
        second(1, batches=2, presses=30, size_max=20, decision_us=8000, decision_us_max=5000),
        second(2),
        second(3, batches=1, presses=3, size_max=3, decision_us=1000, decision_us_max=1000),
    ]
    summary = summarise_batches(seconds)
    assert (summary.batches, summary.presses, summary.max_size) == (3, 33, 20)
    assert summary.mean_size == 11.0
    assert summary.mean_decision_ms == 3.0  # 9 ms over 3 batches
    assert summary.max_decision_ms == 5.0


def test_no_batch_means_zeros_not_a_division_by_zero() -> None:
    summary = summarise_batches([second(1), second(2)])
    assert (summary.batches, summary.mean_size, summary.mean_decision_ms, summary.max_size) == (0, 0.0, 0.0, 0)
    assert summarise_batches([]).max_decision_ms == 0.0


def test_a_batch_record_adds_its_fields_and_keeps_the_largest() -> None:
    stats = SecondStats(7)
    stats.add(batch_fields(BatchRecord(1, 4, 0.002, {"granted": 3, "sold_out": 1}, NOW)))
    stats.add(batch_fields(BatchRecord(1, 9, 0.001, {"sold_out": 9}, NOW)))
    assert (stats.batches, stats.presses, stats.size_max) == (2, 13, 9)
    assert (stats.decision_us, stats.decision_us_max) == (3000, 2000)
    assert stats.outcomes == {"granted": 3, "sold_out": 10}


def test_presses_per_second_count_rows_replays_and_answers_without_a_row_in_the_rate_window() -> None:
    seconds = [second(s) for s in range(49)] + [
        second(49, batches=1, presses=4, **{"o:granted": 2, "o:signed_out": 2}),  # before the last 10 s
        *[second(s) for s in range(50, 55)],
        second(55, **{"r:granted": 3, "o:error": 1}),
        *[second(s) for s in range(56, 60)],
    ]
    row = drop_row(counts(granted_recent=4, refused_recent=2, granted=6, refused={"sold_out": 5}), seconds)
    assert row.presses_per_second == (4 + 2 + 3 + 1) / 10
    assert row.replays == 3 and row.not_kept == 3  # over the whole minute
    assert row.refused == 5
    assert row.counts.left == 7


def test_replays_and_answers_without_a_row_are_counted_by_outcome() -> None:
    seconds = [second(1, **{"r:granted": 2, "r:sold_out": 1, "o:own_product": 1, "o:granted": 5})]
    assert replays(seconds) == 3
    assert not_kept(seconds) == 1
    assert list(last(seconds, 0)) == [] and list(last(seconds, 5)) == seconds


def test_ages_are_whole_seconds_and_never_negative() -> None:
    assert age_seconds(None, NOW) is None
    assert age_seconds(NOW - timedelta(seconds=75.9), NOW) == 75
    assert age_seconds(NOW + timedelta(seconds=2), NOW) == 0  # another host's clock a little ahead


def test_an_age_is_told_in_the_largest_unit_it_fills() -> None:
    assert split_age(0) == (0, "s")
    assert split_age(59) == (59, "s")
    assert split_age(60) == (1, "min")
    assert split_age(3599) == (59, "min")
    assert split_age(7200) == (2, "h")
    assert split_age(3 * 86400 + 5) == (3, "d")


def test_the_summary_key_changes_only_when_what_it_says_changes() -> None:
    quiet = drop_row(counts(), [])
    busy = drop_row(counts(granted_recent=5), [])
    base = summarise([quiet], unsent_events=0, parked_events=0, processes=2)
    assert base.key == summarise([quiet], 0, 0, 2).key
    assert summarise([quiet], 0, 0, 2).busy is False and summarise([busy], 0, 0, 2).busy is True
    # the backlog's size changes all the time; whether there is one is what the summary says
    assert summarise([quiet], 3, 0, 2).key == summarise([quiet], 40, 0, 2).key != base.key
    for other in (summarise([busy], 0, 0, 2), summarise([], 0, 0, 2), summarise([quiet], 0, 1, 2)):
        assert other.key != base.key
    assert summarise([quiet], 0, 0, 3).key != base.key
