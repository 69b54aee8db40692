"""Refund policy maths, fees and the order/payment transition tables (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.states import IllegalTransition
from app.models.orders import OrderStatus
from app.models.payments import PaymentStatus
from app.orders.rules import ORDER_STATUS
from app.payments.rules import (
    PAYMENT_STATUS,
    RefundRefused,
    fee_for,
    quote_refund,
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
    base = {"unit_price": 10_000, "units_left": 3, "money_left": 30_000, "rate": 100, "quantity": 1, "amount": None}
    return quote_refund(**(base | kw))


def test_quote_by_quantity_at_the_policy_rate():
    assert quote().amount == 10_000
    assert quote(quantity=3, rate=50).amount == 15_000
    assert quote(quantity=2, money_left=12_000).amount == 12_000  # never more than is left


def test_quote_by_amount_alone_is_capped_by_the_rate_of_what_is_left():
    assert quote(quantity=0, amount=15_000, rate=50).amount == 15_000
    with pytest.raises(RefundRefused) as refused:
        quote(quantity=0, amount=15_001, rate=50)
    assert refused.value.field == "amount" and "₩15,000" in refused.value.message


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"rate": 0}, "amount"),
        ({"quantity": 4}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"money_left": 0}, "amount"),
        ({"quantity": 0}, "quantity"),
        ({"amount": 0}, "amount"),
        ({"amount": 10_001}, "amount"),
    ],
)
def test_quote_refusals_name_their_field(kw, field):
    with pytest.raises(RefundRefused) as refused:
        quote(**kw)
    assert refused.value.field == field


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
