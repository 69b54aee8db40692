"""Refund policy maths, fees and the order/payment transition tables (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.states import IllegalTransition
from app.models.orders import OrderStatus
from app.models.payments import PaymentStatus, RefundStatus
from app.orders.rules import ORDER_STATUS
from app.payments.rules import (
    PAYMENT_STATUS,
    REFUND_STATUS,
    RefundRefused,
    check_money_request,
    fee_for,
    quote_units,
    refund_rate,
    validate_tiers,
)

PAID = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TIERS = [[24, 100], [72, 50]]


@pytest.mark.parametrize(
    ("hours", "rate"), [(0, 100), (23.9, 100), (24, 100), (24.01, 50), (72, 50), (72.01, 0), (1000, 0)]
)
def test_refund_rate_follows_the_tiers(hours, rate):
    assert refund_rate(TIERS, PAID, PAID + timedelta(hours=hours)) == rate


def test_refund_rate_with_tiers_out_of_order_and_none():
    assert refund_rate([[72, 50], [24, 100]], PAID, PAID + timedelta(hours=2)) == 100
    assert refund_rate([], PAID, PAID) == 0


@pytest.mark.parametrize(
    ("amount", "bp", "fee"), [(10_000, 1000, 1000), (9_999, 1000, 999), (15_500, 350, 542), (0, 1000, 0)]
)
def test_fee_rounds_down_in_whole_won(amount, bp, fee):
    assert fee_for(amount, bp) == fee
    assert fee_for(-amount, bp) == -fee


def quote(**kw):
    base = {"unit_price": 10_000, "units_left": 3, "money_left": 30_000, "rate": 100, "quantity": 1}
    return quote_units(**(base | kw))


def test_returned_units_are_refunded_at_the_policy_rate():
    assert quote().amount == 10_000
    assert quote(quantity=3, rate=50).amount == 15_000
    assert quote(quantity=1, unit_price=9_999, rate=50).amount == 4_999  # rounds down, whole won
    assert quote(quantity=2, money_left=12_000).amount == 12_000  # never more than is left


@pytest.mark.parametrize(
    "kw",
    [
        {"rate": 0},
        {"quantity": 4},
        {"quantity": 0},
        {"quantity": -1},
        {"units_left": 0},
        {"money_left": 0},
        {"unit_price": 1, "rate": 50},
    ],
)
def test_a_return_refusal_names_the_units(kw):
    with pytest.raises(RefundRefused) as refused:
        quote(**kw)
    assert refused.value.field == "quantity" and refused.value.message


def test_a_request_for_money_only_is_capped_by_what_is_left_not_by_the_rate():
    check_money_request(money_left=30_000, rate=50, amount=30_000, waiting=False)
    for kw, text in [
        ({"amount": 30_001}, "₩30,000"),
        ({"amount": 0}, "at least ₩1"),
        ({"rate": 0}, "period"),
        ({"waiting": True}, "still waiting"),
        ({"money_left": 0}, "refunded already"),
    ]:
        with pytest.raises(RefundRefused) as refused:
            check_money_request(**({"money_left": 30_000, "rate": 50, "amount": 1_000, "waiting": False} | kw))
        assert refused.value.field == "amount" and text in refused.value.message, kw


def test_a_request_for_money_only_is_decided_once():
    assert REFUND_STATUS.can(RefundStatus.REQUESTED, RefundStatus.RESERVED)
    assert REFUND_STATUS.can(RefundStatus.REQUESTED, RefundStatus.REJECTED)
    for target in RefundStatus:
        assert not REFUND_STATUS.can(RefundStatus.REJECTED, target)
    assert not REFUND_STATUS.can(RefundStatus.REQUESTED, RefundStatus.DONE)  # never refunded undecided


def test_tiers_from_a_form():
    tiers, errors = validate_tiers([("72", "50"), ("24", "100"), ("", "")])
    assert tiers == [[24, 100], [72, 50]] and errors == {}
    assert "tiers" in validate_tiers([("24", "50"), ("72", "100")])[1]  # later refunds more
    assert "tiers" in validate_tiers([("24", "50"), ("24", "40")])[1]
    assert "tier_0" in validate_tiers([("x", "50")])[1]
    assert "tier_0" in validate_tiers([("24", "101")])[1]


def test_transition_tables():
    assert ORDER_STATUS.can(OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID)
    assert ORDER_STATUS.can(OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)
    with pytest.raises(IllegalTransition):
        ORDER_STATUS.check(OrderStatus.CANCELLED, OrderStatus.PAID)
    with pytest.raises(IllegalTransition):
        ORDER_STATUS.check(OrderStatus.REFUNDED, OrderStatus.PAID)
    assert PAYMENT_STATUS.can(PaymentStatus.IN_PROGRESS, PaymentStatus.DONE)
    with pytest.raises(IllegalTransition):
        PAYMENT_STATUS.check(PaymentStatus.READY, PaymentStatus.DONE)  # never done without a confirm
    with pytest.raises(IllegalTransition):
        PAYMENT_STATUS.check(PaymentStatus.FAILED, PaymentStatus.DONE)
