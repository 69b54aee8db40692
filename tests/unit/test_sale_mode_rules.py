"""The listing form's sale mode: each mode's fields parsed, the other modes' fields ignored, every
refusal explained next to its field, and the draw seed a listing keeps or loses."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog.sale_mode_rules import (
    SaleModeValues,
    line_opens_at,
    parse_sale_mode,
    sale_mode_columns,
)
from app.core.i18n import using
from app.models.catalog import SaleMode

NOW = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)  # 12:00 in Korea
START = datetime(2030, 5, 2, 11, 0, tzinfo=UTC)  # 2030-05-02 20:00 in Korea
SEED = "ab" * 32


def check(form: dict[str, str], starts_at: datetime | None = START) -> tuple[SaleModeValues | None, dict[str, str]]:
    return parse_sale_mode(form, starts_at, NOW)


def draw(**override: str) -> dict[str, str]:
    return {"sale_mode": "draw", "draw_ends_at": "2030-05-02T21:00", "draw_min_account_days": "", **override}


def test_no_mode_is_first_come_with_nothing_else():
    assert check({}) == (SaleModeValues(SaleMode.FIRST_COME, None, None, 0), {})
    assert check({"sale_mode": "  "}) == (SaleModeValues(SaleMode.FIRST_COME), {})


def test_first_come_ignores_the_other_modes_fields_even_when_they_are_bad():
    form = {"sale_mode": "first_come", "admission_rate_per_minute": "lots", "draw_ends_at": "soon"}
    assert check(form) == (SaleModeValues(SaleMode.FIRST_COME), {})


def test_a_waiting_room_without_a_rate_uses_the_shops_setting():
    values, errors = check({"sale_mode": "waiting_room", "admission_rate_per_minute": " ", "draw_ends_at": "x"})
    assert errors == {}
    assert values == SaleModeValues(SaleMode.WAITING_ROOM, admission_rate_per_minute=None)


@pytest.mark.parametrize(("raw", "rate"), [("1", 1), ("600", 600), ("1,000,000", 1_000_000)])
def test_a_waiting_room_keeps_its_own_rate_within_bounds(raw, rate):
    values, errors = check({"sale_mode": "waiting_room", "admission_rate_per_minute": raw})
    assert errors == {} and values == SaleModeValues(SaleMode.WAITING_ROOM, admission_rate_per_minute=rate)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "The admission rate must be at least 1."),
        ("-5", "The admission rate must be at least 1."),
        ("1,000,001", "The admission rate can be at most 1,000,000."),
        ("fast", "The admission rate must be a whole number, like 600."),
        ("1.5", "The admission rate must be a whole number, like 600."),
    ],
)
def test_a_bad_rate_is_refused_next_to_it(raw, message):
    values, errors = check({"sale_mode": "waiting_room", "admission_rate_per_minute": raw})
    assert values is None and errors == {"admission_rate_per_minute": message}


@pytest.mark.parametrize("raw", ["lottery", "DRAW", "first-come", "draw\x00"])
def test_an_unknown_mode_is_refused_on_the_mode(raw):
    values, errors = check({"sale_mode": raw, "draw_ends_at": "2030-05-02T21:00"})
    assert values is None and errors == {"sale_mode": "Choose one of the three sale modes."}


def test_a_draw_reads_its_end_in_the_viewers_zone_and_defaults_to_any_account_age():
    values, errors = check(draw())
    assert errors == {}
    assert values == SaleModeValues(
        SaleMode.DRAW, draw_ends_at=datetime(2030, 5, 2, 12, 0, tzinfo=UTC), draw_min_account_days=0
    )
    with using("en", "Europe/London"):  # 21:00 BST is 20:00 UTC
        values, _errors = check(draw())
    assert values is not None and values.draw_ends_at == datetime(2030, 5, 2, 20, 0, tzinfo=UTC)


def test_a_draw_ignores_the_waiting_rooms_rate():
    values, errors = check(draw(admission_rate_per_minute="not a number"))
    assert errors == {} and values is not None and values.admission_rate_per_minute is None


@pytest.mark.parametrize(
    ("ends", "ok"),
    [
        ("2030-05-02T20:04", False),  # 4 minutes after the start
        ("2030-05-02T20:05", True),  # exactly 5 minutes
        ("2030-06-01T20:00", True),  # exactly 30 days
        ("2030-06-01T20:01", False),
        ("2030-05-02T19:00", False),  # before the start
    ],
)
def test_the_draws_window_is_five_minutes_to_thirty_days(ends, ok):
    values, errors = check(draw(draw_ends_at=ends))
    if ok:
        assert errors == {} and values is not None
    else:
        assert values is None and set(errors) == {"draw_ends_at"}
        assert ("at least 5 minutes" in errors["draw_ends_at"]) == (ends < "2030-05-02T20:05")
        assert ("at most 30 days" in errors["draw_ends_at"]) == (ends > "2030-06-01T20:00")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the date and time the draw's entries close."),
        ("tomorrow", "Enter the draw's end as a date and time, like 2030-05-01 21:00."),
        ("2030-02-30T20:00", "That date does not exist; check the day and the time."),
    ],
)
def test_a_missing_or_unreadable_draw_end_is_refused(raw, message):
    values, errors = check(draw(draw_ends_at=raw))
    assert values is None and errors == {"draw_ends_at": message}


def test_without_a_valid_start_only_an_end_in_the_past_is_refused():
    values, errors = check(draw(draw_ends_at="2030-07-01T20:00"), starts_at=None)
    assert errors == {} and values is not None  # the start's own error is shown on the start
    values, errors = check(draw(draw_ends_at="2030-05-01T11:00"), starts_at=None)  # 02:00 UTC, before NOW
    assert values is None and "in the past" in errors["draw_ends_at"]


@pytest.mark.parametrize(
    ("raw", "days", "message"),
    [
        ("0", 0, None),
        ("30", 30, None),
        ("3,650", 3650, None),
        ("3651", None, "The minimum account age can be at most 3,650."),
        ("-1", None, "The minimum account age must be at least 0."),
        ("a month", None, "The minimum account age must be a whole number, like 30."),
    ],
)
def test_the_minimum_account_age_is_zero_to_ten_years_of_days(raw, days, message):
    values, errors = check(draw(draw_min_account_days=raw))
    if message is None:
        assert errors == {} and values is not None and values.draw_min_account_days == days
    else:
        assert values is None and errors == {"draw_min_account_days": message}


def test_a_draw_reports_both_of_its_errors_at_once():
    values, errors = check(draw(draw_ends_at="", draw_min_account_days="x"))
    assert values is None and set(errors) == {"draw_ends_at", "draw_min_account_days"}


def test_messages_are_translated():
    with using("ko"):
        _values, errors = check({"sale_mode": "raffle"})
    assert errors["sale_mode"] != "Choose one of the three sale modes." and "판매 방식" in errors["sale_mode"]


def test_a_new_draw_gets_a_seed_and_its_commitment():
    values = SaleModeValues(SaleMode.DRAW, draw_ends_at=START + timedelta(hours=1))
    columns = sale_mode_columns(values, kept_seed=None, make_seed=lambda: SEED)
    assert columns["draw_seed"] == SEED
    assert columns["draw_commitment"] == hashlib.sha256(SEED.encode()).hexdigest()
    assert columns["sale_mode"] is SaleMode.DRAW and columns["draw_ends_at"] == START + timedelta(hours=1)


def test_a_draw_that_stays_a_draw_keeps_its_seed():
    values = SaleModeValues(SaleMode.DRAW, draw_ends_at=START + timedelta(hours=1))

    def never() -> str:
        raise AssertionError("a kept seed is never replaced")

    columns = sale_mode_columns(values, kept_seed=SEED, make_seed=never)
    assert columns["draw_seed"] == SEED and columns["draw_commitment"] == hashlib.sha256(SEED.encode()).hexdigest()


@pytest.mark.parametrize("mode", [SaleMode.FIRST_COME, SaleMode.WAITING_ROOM])
def test_leaving_draw_mode_clears_the_seed(mode):
    columns = sale_mode_columns(SaleModeValues(mode), kept_seed=SEED)
    assert columns["draw_seed"] is None and columns["draw_commitment"] is None


def test_fresh_seeds_differ_and_commit_to_themselves():
    values = SaleModeValues(SaleMode.DRAW, draw_ends_at=START + timedelta(hours=1))
    first, second = sale_mode_columns(values, None), sale_mode_columns(values, None)
    assert first["draw_seed"] != second["draw_seed"]
    for columns in (first, second):
        seed = columns["draw_seed"]
        assert isinstance(seed, str) and len(seed) == 64
        assert columns["draw_commitment"] == hashlib.sha256(seed.encode()).hexdigest()


def test_the_line_opens_the_shops_lead_before_the_start():
    assert line_opens_at(START, 15) == datetime(2030, 5, 2, 10, 45, tzinfo=UTC)


@given(minutes=st.integers(min_value=-60 * 24 * 40, max_value=60 * 24 * 40))
def test_any_draw_end_is_accepted_exactly_within_the_window(minutes):
    ends = START + timedelta(minutes=minutes)
    with using("en", "UTC"):
        values, errors = check(draw(draw_ends_at=ends.strftime("%Y-%m-%dT%H:%M")))
    inside = 5 <= minutes <= 30 * 24 * 60
    assert (values is not None) == inside and (errors == {}) == inside
