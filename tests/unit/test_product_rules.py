"""The listing form's rules: every field parsed from text, every refusal explained by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.catalog.product_rules import (
    ProductValues,
    parse_int,
    parse_local_datetime,
    parse_product_form,
    to_local_input,
)
from app.core.i18n import using
from tests.helpers.forms import REFUSAL_ARGS, refusals

NOW = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)  # 12:00 in Korea
GOOD = {
    "name": "Moon jar, small",
    "description": "Hand thrown.\nNumbered.",
    "category_id": "3",
    "list_price": "120,000",
    "total_quantity": "10",
    "fixed_quantity": "6",
    "purchase_limit": "2",
    "sale_starts_at": "2030-05-02T20:00",
    "auction_start_price": "100000",
    "auction_increment": "5,000",
    "auction_duration_minutes": "60",
}


def check(**override: str) -> tuple[ProductValues | None, dict[str, str]]:
    return parse_product_form({**GOOD, **override}, NOW)


def test_a_good_form_gives_clean_values():
    values, errors = check()
    assert errors == {}
    assert values == ProductValues(
        name="Moon jar, small",
        description="Hand thrown.\nNumbered.",
        category_id=3,
        list_price=120_000,
        total_quantity=10,
        fixed_quantity=6,
        purchase_limit=2,
        sale_starts_at=datetime(2030, 5, 2, 11, 0, tzinfo=UTC),
        auction_start_price=100_000,
        auction_increment=5_000,
        auction_duration_minutes=60,
    )


REFUSED = {
    "list_price": {
        "Enter the list price.": [""],
        "at least ₩1": ["-5", "0"],
        "at most ₩1,000,000,000": ["1000000001", "9" * 40, "9" * 5000],
        "must be a whole number": ["abc", "12.5", "1e6", "1,2,3", "١٢٣"],
    },
    "total_quantity": {"at least 1": ["0", "-1"], "at most 100,000": ["100001"], "must be a whole number": ["ten"]},
    "fixed_quantity": {"at least 0": ["-1"], "cannot be more than the total quantity (10)": ["11"]},
    "purchase_limit": {
        "at least 1": ["0"],
        "cannot be more than the fixed-price quantity (6)": ["7"],
        "must be a whole number": ["x"],
    },
    "auction_start_price": {"Enter the auction start price.": [""], "at least ₩1": ["0", "-100"]},
    "auction_increment": {"at least ₩1": ["0"]},
    "auction_duration_minutes": {"at least 5 minutes": ["4"], "at most 10,080 minutes": ["10081"]},
    "name": {
        "Enter the product's name.": ["", "   "],
        "at most 120 characters": ["n" * 121],
        "control characters": ["bad\x00name"],
    },
    "description": {"at most 5,000 characters": ["d" * 5001]},
    "category_id": {
        "Choose a category.": [""],
        "Choose one of the listed categories.": ["abc", "99999999999999"],
    },
    "sale_starts_at": {
        "Enter the date and time": [""],
        "like 2030-05-01 20:00": ["tomorrow"],
        "does not exist": ["2030-02-30T10:00", "0001-01-01T00:00"],
        "in the past": ["2030-05-01T11:59", "2020-01-01T00:00"],
        "at most a year": ["2032-01-01T00:00", "9999-12-31T23:59"],
    },
}


@pytest.mark.parametrize(REFUSAL_ARGS, refusals(REFUSED))
def test_each_refusal_is_explained_next_to_its_field(field, value, message):
    values, errors = check(**{field: value})
    assert values is None
    assert message in errors[field], errors
    assert list(errors) == [field]


def test_auction_fields_are_needed_only_when_units_are_left_over():
    values, errors = check(fixed_quantity="10", auction_start_price="", auction_increment="x")
    assert errors == {}
    assert values is not None
    assert (values.auction_start_price, values.auction_increment, values.auction_duration_minutes) == (None,) * 3


def test_no_fixed_price_units_is_an_auction_only_listing():
    values, errors = check(fixed_quantity="0", purchase_limit="3")
    assert errors == {} and values is not None
    assert values.fixed_quantity == 0 and values.auction_start_price is not None
    values, errors = check(fixed_quantity="0", auction_start_price="")
    assert values is None and "auction start price" in errors["auction_start_price"]


def test_blank_purchase_limit_defaults_to_one():
    values, _ = check(purchase_limit="")
    assert values is not None and values.purchase_limit == 1


def test_many_mistakes_are_reported_together():
    values, errors = check(name="", list_price="-1", total_quantity="zero", sale_starts_at="")
    assert values is None
    assert set(errors) == {"name", "list_price", "total_quantity", "sale_starts_at"}


def test_description_keeps_line_breaks_and_normalises_them():
    values, _ = check(description="  one\r\ntwo\rthree  ")
    assert values is not None and values.description == "one\ntwo\nthree"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12,000", 12_000), ("12000", 12_000), (" 1 ", 1), ("+7", 7), ("1,000,000,000", 1_000_000_000)],
)
def test_numbers_may_be_grouped_with_commas(raw, expected):
    assert parse_int(raw, low=1, high=1_000_000_000, what="The price") == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Seoul", datetime(2030, 5, 2, 11, 0, tzinfo=UTC)),  # the default zone
        ("UTC", datetime(2030, 5, 2, 20, 0, tzinfo=UTC)),
        ("America/Los_Angeles", datetime(2030, 5, 3, 3, 0, tzinfo=UTC)),  # California summer time
    ],
)
def test_the_start_time_is_read_in_the_viewers_zone(zone, expected):
    with using("en", zone):
        assert parse_local_datetime("2030-05-02T20:00") == expected


def test_start_time_needs_a_minute_of_lead():
    soon = to_local_input(NOW + timedelta(minutes=2))
    values, errors = check(sale_starts_at=soon)
    assert errors == {} and values is not None
    assert values.sale_starts_at == NOW + timedelta(minutes=2)
    _, errors = check(sale_starts_at=to_local_input(NOW - timedelta(minutes=1)))
    assert "in the past" in errors["sale_starts_at"]
    _, errors = check(sale_starts_at=to_local_input(NOW))
    assert "in the past" in errors["sale_starts_at"]


def test_the_next_minute_on_the_clock_is_a_minute_ahead():
    """A seller at 12:00:40 who picks 12:01 (the next minute the form offers) is not refused."""
    now = NOW.replace(second=40)
    form = {**GOOD, "sale_starts_at": to_local_input(now.replace(second=0) + timedelta(minutes=1))}
    values, errors = parse_product_form(form, now)
    assert errors == {} and values is not None


def test_local_input_round_trips():
    instant = datetime(2030, 5, 2, 11, 0, tzinfo=UTC)
    assert to_local_input(instant) == "2030-05-02T20:00"
    with using("en", "America/New_York"):
        assert to_local_input(instant) == "2030-05-02T07:00"
        assert parse_local_datetime(to_local_input(instant)) == instant
