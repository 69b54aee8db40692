"""The one parser of typed and URL numbers: ASCII digits only, bounded before ``int()``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.numbers import MAX_ID, is_id, looks_whole, parse_id, parse_whole


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", 0),
        ("12000", 12000),
        (" 7 ", 7),
        ("007", 7),
        ("1000000000000000", 10**15),
        ("1000000000000001", None),
        ("9" * 5000, None),  # refused before int() would raise on its 4,300-digit limit
        ("²", None),  # str.isdigit() says yes, int() raises
        ("1²", None),
        ("٣", None),  # int() would read 3
        ("３", None),
        ("𝟗", None),
        ("-1", None),
        ("+1", None),
        ("1.5", None),
        ("1e3", None),
        ("", None),
        (None, None),
        ("1\x00", None),
        ("12,000", None),
    ],
)
def test_parse_whole_takes_plain_ascii_digits_within_range(raw, expected):
    assert parse_whole(raw) == expected


def test_grouped_numbers_and_bounds():
    assert parse_whole("12,000", grouped=True) == 12000
    assert parse_whole("1,2,3", grouped=True) is None
    assert parse_whole("１２,０００", grouped=True) is None
    assert parse_whole("1441", high=1440) is None and parse_whole("1440", high=1440) == 1440
    assert looks_whole("99999999999999999999") and not looks_whole("٣")


def test_ids():
    assert parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id("0") is None and parse_id(str(MAX_ID + 1)) is None
    assert is_id(5) and not is_id(0) and not is_id(MAX_ID + 1) and not is_id(True) and not is_id("5")


@given(st.text(max_size=30))
def test_whatever_is_typed_the_answer_is_none_or_a_bounded_int_written_in_ascii(raw):
    value = parse_whole(raw)
    assert value is None or (0 <= value <= 10**15 and raw.strip().lstrip("0") in (str(value), ""))
