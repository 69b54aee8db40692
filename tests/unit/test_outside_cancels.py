"""Which of the gateway's cancellations the shop records (pure rules), and the webhook's signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.gateway.webhook import SIGNATURE_HEADER, BadWebhook, signed_headers, status_changed, verified_event
from app.payments.rules import GatewayCancelSeen, OutsideCancel, ShopRefunds, outside_cancels


def shop(**kw) -> ShopRefunds:
    values = {"paid": 10_000, "refunded": 0, "reserved": 0, "units_left": 2, "known_keys": frozenset()}
    return ShopRefunds(**(values | {"keyless_amounts": ()} | kw))


def seen(*cancels: tuple[str, int]) -> list[GatewayCancelSeen]:
    return [GatewayCancelSeen(key, amount, "r") for key, amount in cancels]


def test_unknown_cancellations_are_recorded_and_the_last_one_returns_the_units():
    cancels = seen(("a", 3_000), ("b", 7_000))
    assert outside_cancels(cancels, shop()) == [OutsideCancel(cancels[0], 0), OutsideCancel(cancels[1], 2)]


def test_the_shops_own_cancellations_are_skipped_by_key_or_by_amount_when_keyless():
    assert outside_cancels(seen(("mine", 4_000)), shop(refunded=4_000, known_keys=frozenset({"mine"}))) == []
    assert outside_cancels(seen(("old", 4_000)), shop(refunded=4_000, keyless_amounts=(4_000,))) == []
    cancels = seen(("old", 4_000), ("new", 1_000))
    assert outside_cancels(cancels, shop(refunded=4_000, keyless_amounts=(4_000,))) == [OutsideCancel(cancels[1], 0)]


def test_nothing_is_decided_while_a_refund_of_the_shop_is_on_its_way():
    assert outside_cancels(seen(("x", 4_000)), shop(reserved=4_000)) == []


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10_000), max_size=6),
    refunded=st.integers(min_value=0, max_value=10_000),
)
def test_never_more_is_recorded_than_is_left_to_refund(amounts, refunded):
    cancels = seen(*((f"k{i}", a) for i, a in enumerate(amounts)))
    found = outside_cancels(cancels, shop(refunded=refunded))
    assert sum(c.seen.amount for c in found) <= 10_000 - refunded
    known = frozenset(c.seen.transaction_key for c in found)
    assert len(known) == len(found)
    # once what was found is recorded, deciding again over the same cancellations finds nothing more
    again = shop(refunded=refunded + sum(c.seen.amount for c in found), known_keys=known)
    assert outside_cancels(cancels, again) == []


def test_a_signed_webhook_is_read_and_anything_else_refused():
    body = status_changed({"paymentKey": "pk", "status": "CANCELED"})
    event = verified_event("s3cret", body, signed_headers("s3cret", body))
    assert (event.event_type, event.payment_key, event.status) == ("PAYMENT_STATUS_CHANGED", "pk", "CANCELED")
    rotated = signed_headers("s3cret", body)
    rotated[SIGNATURE_HEADER] = "v1:b2xk," + rotated[SIGNATURE_HEADER]  # an old secret's signature beside
    assert verified_event("s3cret", body, rotated).payment_key == "pk"
    with pytest.raises(BadWebhook):
        verified_event("s3cret", body + b" ", signed_headers("s3cret", body))
    old = signed_headers("s3cret", body, datetime.now(UTC) - timedelta(seconds=301))
    with pytest.raises(BadWebhook, match="too long ago"):
        verified_event("s3cret", body, old)
