"""The product lifecycle table, checked pair by pair against a table written out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from app.catalog import lifecycle
from app.catalog.lifecycle import PRODUCT_STATUS, after_fixed_units_paid, check_move, opening_status, should_open
from app.core.states import IllegalTransition
from app.models.catalog import ProductStatus as S

ALL = list(S)

# Every allowed move except unhiding (which depends on where the product was hidden from), read
# from the other end: each status and the statuses that may move to it.
ENTERED_FROM = {
    S.SCHEDULED: {S.DRAFT},
    S.ON_SALE: {S.SCHEDULED, S.CONVERSION_PENDING},
    S.CONVERSION_PENDING: {S.ON_SALE},
    S.AUCTION_LIVE: {S.SCHEDULED, S.CONVERSION_PENDING},
    S.ENDED: {S.CONVERSION_PENDING, S.AUCTION_LIVE},
    S.CANCELLED: {S.DRAFT, S.SCHEDULED},
    S.HIDDEN: {S.DRAFT, S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED},
}
# A hidden product may go back to any of these, but only to the one it was hidden from.
UNHIDE_TARGETS = {S.DRAFT, S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED}


def test_the_table_names_every_status():
    assert set(PRODUCT_STATUS.table) == set(ALL)
    assert set(lifecycle.LABELS) == set(ALL)


@pytest.mark.parametrize(("source", "target"), [(s, t) for s, t in product(ALL, ALL) if s is not S.HIDDEN])
def test_every_move_from_a_visible_state(source, target):
    expected = source in ENTERED_FROM.get(target, set())
    assert PRODUCT_STATUS.can(source, target) is expected
    if expected:
        check_move(source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_move(source, target)


@pytest.mark.parametrize(("hidden_from", "target"), list(product([*ALL, None], ALL)))
def test_unhide_only_back_to_hidden_from(hidden_from, target):
    assert PRODUCT_STATUS.can(S.HIDDEN, target) is (target in UNHIDE_TARGETS)
    if target in UNHIDE_TARGETS and target is hidden_from:
        check_move(S.HIDDEN, target, hidden_from)
    else:
        with pytest.raises(IllegalTransition):
            check_move(S.HIDDEN, target, hidden_from)


def test_cancelled_is_the_only_terminal_state():
    assert [s for s in ALL if PRODUCT_STATUS.is_terminal(s)] == [S.CANCELLED]


def test_no_state_moves_to_itself():
    for status in ALL:
        assert not PRODUCT_STATUS.can(status, status)


def test_public_and_editable_statuses():
    assert {s for s in ALL if lifecycle.is_public(s)} == {
        S.SCHEDULED,
        S.ON_SALE,
        S.CONVERSION_PENDING,
        S.AUCTION_LIVE,
        S.ENDED,
    }
    assert {s for s in ALL if lifecycle.is_editable(s)} == {S.DRAFT, S.SCHEDULED}


def test_should_open_only_a_scheduled_sale_whose_start_has_come():
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert should_open(S.SCHEDULED, now, now) is True
    assert should_open(S.SCHEDULED, now - timedelta(seconds=1), now) is True
    assert should_open(S.SCHEDULED, now + timedelta(seconds=1), now) is False
    for status in ALL:
        if status is not S.SCHEDULED:
            assert should_open(status, now - timedelta(days=1), now) is False, status


def test_after_fixed_units_paid():
    assert after_fixed_units_paid(total_quantity=10, fixed_quantity=6) is S.AUCTION_LIVE
    assert after_fixed_units_paid(total_quantity=7, fixed_quantity=6) is S.AUCTION_LIVE
    assert after_fixed_units_paid(total_quantity=6, fixed_quantity=6) is S.ENDED
    assert after_fixed_units_paid(total_quantity=1, fixed_quantity=1) is S.ENDED


def test_an_auction_only_listing_opens_into_its_auction():
    assert opening_status(0) is S.AUCTION_LIVE
    assert opening_status(1) is S.ON_SALE
