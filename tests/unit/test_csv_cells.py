"""How a download writes its cells and reads the orders' filters: text that a spreadsheet would run
as a formula gets a leading apostrophe (numbers the shop computes stay numbers), times are written
in the viewer's zone, states in words, quoting by the csv module; the days of a filter are read in
the viewer's zone and refused values are named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.i18n import using
from app.models.orders import OrderStatus
from app.orders.filters import read_filters
from app.web.csv_export import Label, cell_text, csv_lines, neutralise, zoned


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_a_formula_is_only_text(text):
    assert neutralise(text) == "'" + text
    assert cell_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Ana Kim", "", " =1", "1-2", "아나", "'quoted", "a=b"])
def test_other_text_is_left_alone(text):
    assert neutralise(text) == text


def test_numbers_times_and_states():
    assert cell_text(-1) == -1 and cell_text(24_000) == 24_000 and cell_text(None) == ""
    moment = datetime(2026, 12, 2, 6, 4, 5, tzinfo=UTC)
    with using("en", "Asia/Seoul"):
        assert cell_text(moment) == "2026-12-02 15:04:05"
        assert cell_text(Label(OrderStatus.AWAITING_PAYMENT, "order")) == "Awaiting payment"
        assert zoned("Created at") == "Created at (Asia/Seoul)"
    with using("ko", "America/Los_Angeles"):
        assert cell_text(moment) == "2026-12-01 22:04:05"
        assert cell_text(Label(OrderStatus.PAID, "order")) == "결제 완료"
        assert zoned("생성 일시") == "생성 일시 (America/Los_Angeles)"


def test_lines_are_quoted_by_the_csv_module():
    text = csv_lines([(1, 'say "hi", then go', "line\nbreak", "=x")])
    assert text == '1,"say ""hi"", then go","line\nbreak",\'=x\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["1", 'say "hi", then go', "line\nbreak", "'=x"]]


SEOUL = ZoneInfo("Asia/Seoul")


def test_days_are_read_in_the_viewers_zone():
    filters = read_filters({"since": "2026-03-11", "until": "2026-03-11"}, set(), SEOUL)
    assert filters.errors == {}
    assert filters.since == datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert filters.until == datetime(2026, 3, 11, 15, tzinfo=UTC)  # the next day's start, exclusive
    new_york = read_filters({"since": "2026-03-08"}, set(), ZoneInfo("America/New_York"))
    assert new_york.since == datetime(2026, 3, 8, 5, tzinfo=UTC)  # still EST at midnight


def test_state_and_product():
    filters = read_filters({"status": "paid", "product": "7"}, {7, 8}, SEOUL)
    assert (filters.state, filters.product_id, filters.errors) == (OrderStatus.PAID, 7, {})
    assert filters.active and not read_filters({}, set(), SEOUL).active


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"status": "shipped"}, "status"),
        ({"product": "9"}, "product"),
        ({"product": "٧"}, "product"),
        ({"product": "-7"}, "product"),
        ({"since": "2026-3-1"}, "since"),
        ({"since": "20260301"}, "since"),
        ({"since": "2026-02-29"}, "since"),
        ({"until": "0001-01-01"}, "until"),
        ({"until": "9999-12-31"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
    ],
)
def test_refused_values_are_named_and_filter_nothing(raw, field):
    filters = read_filters(raw, {7}, SEOUL)
    assert field in filters.errors
    assert (filters.state, filters.product_id, filters.since, filters.until) == (None, None, None, None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["status", "product", "since", "until", "page"]), st.text(max_size=60)))
def test_no_filter_value_raises(raw):
    filters = read_filters(raw, {1, 2}, SEOUL)
    assert set(filters.errors) <= {"status", "product", "since", "until"}
    if filters.since and filters.until:
        assert filters.since < filters.until


@given(st.text(max_size=30))
def test_no_cell_text_starts_a_formula(text):
    assert not str(cell_text(text)).startswith(("=", "+", "-", "@", "\t", "\r"))
