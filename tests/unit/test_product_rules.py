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
    "tz_offset_minutes": "540",
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


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("list_price", "", "Enter the list price."),
        ("list_price", "-5", "at least ₩1"),
        ("list_price", "0", "at least ₩1"),
        ("list_price", "1000000001", "at most ₩1,000,000,000"),
        ("list_price", "9" * 40, "at most ₩1,000,000,000"),
        ("list_price", "9" * 5000, "at most ₩1,000,000,000"),
        ("list_price", "abc", "must be a whole number"),
        ("list_price", "12.5", "must be a whole number"),
        ("list_price", "1e6", "must be a whole number"),
        ("list_price", "1,2,3", "must be a whole number"),
        ("list_price", "١٢٣", "must be a whole number"),
        ("total_quantity", "0", "at least 1"),
        ("total_quantity", "-1", "at least 1"),
        ("total_quantity", "100001", "at most 100,000"),
        ("total_quantity", "ten", "must be a whole number"),
        ("fixed_quantity", "-1", "at least 0"),
        ("fixed_quantity", "11", "cannot be more than the total quantity (10)"),
        ("purchase_limit", "0", "at least 1"),
        ("purchase_limit", "7", "cannot be more than the fixed-price quantity (6)"),
        ("purchase_limit", "x", "must be a whole number"),
        ("auction_start_price", "", "Enter the auction start price."),
        ("auction_start_price", "0", "at least ₩1"),
        ("auction_start_price", "-100", "at least ₩1"),
        ("auction_increment", "0", "at least ₩1"),
        ("auction_duration_minutes", "4", "at least 5 minutes"),
        ("auction_duration_minutes", "10081", "at most 10,080 minutes"),
        ("name", "", "Enter the product's name."),
        ("name", "   ", "Enter the product's name."),
        ("name", "n" * 121, "at most 120 characters"),
        ("name", "bad\x00name", "control characters"),
        ("description", "d" * 5001, "at most 5,000 characters"),
        ("category_id", "", "Choose a category."),
        ("category_id", "abc", "Choose one of the listed categories."),
        ("category_id", "99999999999999", "Choose one of the listed categories."),
        ("sale_starts_at", "", "Enter the date and time"),
        ("sale_starts_at", "tomorrow", "like 2030-05-01 20:00"),
        ("sale_starts_at", "2030-02-30T10:00", "does not exist"),
        ("sale_starts_at", "2030-05-01T11:59", "in the past"),
        ("sale_starts_at", "2020-01-01T00:00", "in the past"),
        ("sale_starts_at", "2032-01-01T00:00", "at most a year"),
        ("sale_starts_at", "9999-12-31T23:59", "at most a year"),
        ("sale_starts_at", "0001-01-01T00:00", "does not exist"),
    ],
)
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
    ("offset", "expected"),
    [
        ("540", datetime(2030, 5, 2, 11, 0, tzinfo=UTC)),  # Seoul
        ("0", datetime(2030, 5, 2, 20, 0, tzinfo=UTC)),
        ("-420", datetime(2030, 5, 3, 3, 0, tzinfo=UTC)),  # California summer time
        (None, datetime(2030, 5, 2, 11, 0, tzinfo=UTC)),  # no script: Korea time
        ("garbage", datetime(2030, 5, 2, 11, 0, tzinfo=UTC)),
        ("99999", datetime(2030, 5, 2, 11, 0, tzinfo=UTC)),
    ],
)
def test_the_start_time_is_read_in_the_browsers_offset(offset, expected):
    assert parse_local_datetime("2030-05-02T20:00", offset) == expected


def test_start_time_needs_a_minute_of_lead():
    soon = to_local_input(NOW + timedelta(minutes=2))
    values, errors = check(sale_starts_at=soon)
    assert errors == {} and values is not None
    assert values.sale_starts_at == NOW + timedelta(minutes=2)
    _, errors = check(sale_starts_at=to_local_input(NOW + timedelta(seconds=30)))
    assert "in the past" in errors["sale_starts_at"]


def test_local_input_round_trips():
    instant = datetime(2030, 5, 2, 11, 0, tzinfo=UTC)
    assert to_local_input(instant) == "2030-05-02T20:00"
    assert parse_local_datetime(to_local_input(instant, -300), "-300") == instant
