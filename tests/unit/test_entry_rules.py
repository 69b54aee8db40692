"""Entering a draw on plain data: where a draw stands at a moment, each refusal in its order (the
seller, the window, the confirmed address, the account's age), and the entry's table of states."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.states import IllegalTransition
from app.drops.entry_rules import (
    ABOUT_THE_MEMBER,
    ENTRY_STATUS,
    Entrant,
    Phase,
    Refusal,
    old_enough_at,
    phase,
    refusal,
)
from app.models.catalog import ProductStatus as S
from app.models.draws import EntryStatus as E
from tests.helpers.clock import NOW

ENDS = NOW + timedelta(hours=1)
SELLER = 1


@pytest.mark.parametrize(
    ("status", "now", "drawn", "expected"),
    [
        (S.SCHEDULED, NOW, False, Phase.SOON),
        (S.ON_SALE, NOW, False, Phase.OPEN),
        (S.ON_SALE, ENDS - timedelta(microseconds=1), False, Phase.OPEN),
        (S.ON_SALE, ENDS, False, Phase.CLOSING),  # the end itself is closed
        (S.ON_SALE, ENDS, True, Phase.DRAWN),
        (S.CONVERSION_PENDING, ENDS, True, Phase.DRAWN),
        (S.ENDED, ENDS, True, Phase.DRAWN),
        (S.ENDED, NOW, False, Phase.OVER),
        (S.HIDDEN, NOW, False, Phase.OVER),
    ],
)
def test_where_a_draw_stands(status, now, drawn, expected):
    assert phase(status, ENDS, NOW if drawn else None, now) is expected


def entrant(member_id: int = 7, *, confirmed: bool = True, age: timedelta = timedelta(days=400)) -> Entrant:
    return Entrant(member_id, confirmed, NOW - age)


def why(who: Entrant, window: Phase = Phase.OPEN, days: int = 30) -> Refusal | None:
    return refusal(who, seller_id=SELLER, window=window, min_account_days=days, now=NOW)


def test_an_open_draw_takes_a_confirmed_account_old_enough():
    assert why(entrant()) is None
    assert why(entrant(age=timedelta(days=30))) is None  # exactly the minimum age
    assert why(entrant(age=timedelta(0)), days=0) is None  # no minimum: a new account may enter


def test_each_refusal_and_the_order_they_are_checked_in():
    assert why(entrant(SELLER, confirmed=False)) is Refusal.OWN_PRODUCT  # the seller first, whatever else
    assert why(entrant(confirmed=False), Phase.SOON) is Refusal.NOT_OPEN
    for window in (Phase.CLOSING, Phase.DRAWN, Phase.OVER):
        assert why(entrant(confirmed=False), window) is Refusal.CLOSED
    assert why(entrant(confirmed=False, age=timedelta(days=1))) is Refusal.UNCONFIRMED
    assert why(entrant(age=timedelta(days=30) - timedelta(seconds=1))) is Refusal.TOO_YOUNG


def test_refusals_about_the_member_are_forbidden_the_others_are_about_the_moment():
    assert ABOUT_THE_MEMBER == {Refusal.OWN_PRODUCT, Refusal.UNCONFIRMED, Refusal.TOO_YOUNG}
    assert old_enough_at(NOW, 30) == NOW + timedelta(days=30)


def test_an_entry_is_drawn_once_and_offered_a_unit_at_most_once():
    assert ENTRY_STATUS.allowed(E.ENTERED) == {E.WON, E.NOT_DRAWN}
    assert ENTRY_STATUS.allowed(E.NOT_DRAWN) == {E.OFFERED}
    assert ENTRY_STATUS.is_terminal(E.WON) and ENTRY_STATUS.is_terminal(E.OFFERED)
    with pytest.raises(IllegalTransition):
        ENTRY_STATUS.check(E.WON, E.OFFERED)
