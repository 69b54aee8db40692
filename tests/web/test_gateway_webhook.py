"""The gateway's signed webhook: a payment cancelled at the gateway outside the shop (its API with
the sandbox's public test secret, as the probe did) is recorded once — payment, order, stock,
settlement reversal, audit — however often the webhook comes, and a message that is not signed
with the webhook secret, or is too old, changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.gateway.webhook import SIGNATURE_HEADER, TIME_HEADER, WEBHOOK_PATH, signed_headers, status_changed
from app.models.orders import OrderStatus
from app.models.payments import PaymentAudit, PaymentStatus
from app.settings import SANDBOX_WEBHOOK_SECRET
from tests.helpers import gateway as gw
from tests.helpers.waiting import wait_for
from tests.helpers.web import post_form


@pytest.fixture
async def shop(app):
    with gw.in_process_gateway(app):
        yield app


def recorded(app, order_id: int, status: OrderStatus):
    def ready(state):
        return state.order is status and len(state.nets) == len(state.refunds) + 1

    return gw.money_when(app, order_id, ready, f"the order to be {status.value} with its settlement")


async def test_a_payment_cancelled_at_the_gateway_is_recorded_by_its_webhook(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    before = await gw.money(shop, paid.order_id)
    assert before.taken == 1 and before.nets == [9_000]
    await gw.cancel_at_gateway(client, paid.payment_key, reason="cancelled in the gateway's console")
    after = await recorded(shop, paid.order_id, OrderStatus.REFUNDED)  # the sandbox's webhook did it
    assert after.payment is PaymentStatus.CANCELLED and after.refunded == 10_000
    [(amount, quantity, key)] = after.refunds
    assert amount == 10_000 and quantity == 1 and key
    assert after.nets == [-9_000, 9_000]  # the seller's settlement no longer counts it
    assert after.outside_audits == 1
    assert after.taken == 0 and after.refund_ledger_rows == 1  # the unit is back on sale
    page = await client.get(f"/orders/{paid.order_id}")
    assert "Refunded" in page.text and "Cancelled at the payment gateway" in page.text


async def test_partial_cancellations_at_the_gateway_are_recorded_one_by_one(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    await gw.cancel_at_gateway(client, paid.payment_key, amount=3_000, reason="goodwill")
    partly = await recorded(shop, paid.order_id, OrderStatus.PARTIALLY_REFUNDED)
    assert partly.payment is PaymentStatus.PARTIALLY_CANCELLED and partly.refunded == 3_000
    assert [(a, q) for a, q, _ in partly.refunds] == [(3_000, 0)]  # money only: the unit stays sold
    assert partly.nets == [-2_700, 9_000] and partly.taken == 1
    await gw.cancel_at_gateway(client, paid.payment_key)  # the rest
    whole = await recorded(shop, paid.order_id, OrderStatus.REFUNDED)
    assert whole.payment is PaymentStatus.CANCELLED and whole.refunded == 10_000
    assert [(a, q) for a, q, _ in whole.refunds] == [(3_000, 0), (7_000, 1)]
    assert whole.nets == [-6_300, -2_700, 9_000] and whole.taken == 0 and whole.outside_audits == 2


async def test_the_same_webhook_many_times_at_once_records_the_cancellation_once(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    cancelled = await gw.cancel_at_gateway(client, paid.payment_key)
    answers = await asyncio.gather(*(gw.post_webhook(client, cancelled, SANDBOX_WEBHOOK_SECRET) for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert sum(a.json()["recorded"] for a in answers) <= 1  # the sandbox's own delivery may be the one
    state = await recorded(shop, paid.order_id, OrderStatus.REFUNDED)
    assert len(state.refunds) == 1 and state.refunded == 10_000 and state.outside_audits == 1
    assert state.nets == [-9_000, 9_000] and state.taken == 0 and state.refund_ledger_rows == 1


async def test_the_shops_own_refund_is_not_recorded_again_by_its_webhook(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    form = {"kind": "units", "quantity": "1", "reason": "dented"}
    assert (await post_form(client, f"/orders/{paid.order_id}/refund", form)).status_code == 303
    await recorded(shop, paid.order_id, OrderStatus.REFUNDED)

    async def looked_up():  # the sandbox's webhook for the refund made the shop look it up
        return (await gw.money(shop, paid.order_id)).lookups >= 1

    await wait_for(looked_up, 15, "the webhook's look-up")
    copy = await gw.gateway_copy(client, paid.payment_key)
    again = await gw.post_webhook(client, copy, SANDBOX_WEBHOOK_SECRET)
    assert again.status_code == 200 and again.json()["recorded"] == 0
    state = await gw.money(shop, paid.order_id)
    assert [(a, q) for a, q, _ in state.refunds] == [(10_000, 1)] and state.refunded == 10_000
    assert state.refunds[0][2] == copy["cancels"][0]["transactionKey"]  # the shop's refund knows its key
    assert state.nets == [-9_000, 9_000] and state.outside_audits == 0 and state.refund_ledger_rows == 1


def _tampered(body: bytes) -> dict[str, str]:
    headers = signed_headers(SANDBOX_WEBHOOK_SECRET, body)
    return headers | {SIGNATURE_HEADER: headers[SIGNATURE_HEADER][:-6] + "AAAAA="}


@pytest.mark.parametrize(
    "headers_for",
    [
        pytest.param(lambda body: {"content-type": "application/json"}, id="unsigned"),
        pytest.param(lambda body: signed_headers("someone-elses-secret", body), id="another-secret"),
        pytest.param(_tampered, id="tampered-signature"),
        pytest.param(
            lambda body: signed_headers(SANDBOX_WEBHOOK_SECRET, body, datetime.now(UTC) - timedelta(minutes=10)),
            id="ten-minutes-old",
        ),
        pytest.param(
            lambda body: signed_headers(SANDBOX_WEBHOOK_SECRET, body) | {TIME_HEADER: "yesterday"}, id="bad-time"
        ),
    ],
)
async def test_a_webhook_not_signed_with_the_secret_changes_nothing(client, shop, members, products, headers_for):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    copy = await gw.gateway_copy(client, paid.payment_key)
    forged = copy | {"status": "CANCELED", "balanceAmount": 0}
    body = status_changed(forged)
    r = await client.post(WEBHOOK_PATH, content=body, headers=headers_for(body))
    assert r.status_code == 401 and r.json()["code"] in ("INVALID_SIGNATURE", "EXPIRED_SIGNATURE")
    state = await gw.money(shop, paid.order_id)
    assert state.order is OrderStatus.PAID and state.refunds == [] and state.lookups == 0


async def test_a_forged_cancellation_with_a_valid_signature_is_checked_at_the_gateway(client, shop, members, products):
    """The body is only a reason to look: the shop records what the gateway says, not what it says."""
    paid = await gw.pay_through_checkout(client, shop, members, products)
    forged = (await gw.gateway_copy(client, paid.payment_key)) | {"status": "CANCELED", "balanceAmount": 0}
    r = await gw.post_webhook(client, forged, SANDBOX_WEBHOOK_SECRET)
    assert r.status_code == 200 and r.json() == {"result": "unchanged", "recorded": 0}
    state = await gw.money(shop, paid.order_id)
    assert state.order is OrderStatus.PAID and state.refunds == [] and state.lookups == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"eventType": 7}', 400), (b"x" * 70_000, 413)],
)
async def test_a_signed_body_that_is_not_a_webhook_is_a_4xx(client, shop, body, status):
    r = await client.post(WEBHOOK_PATH, content=body, headers=signed_headers(SANDBOX_WEBHOOK_SECRET, body))
    assert r.status_code == status
    async with shop.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(PaymentAudit)) == 0


async def test_other_events_and_unknown_payments_are_acknowledged(client, shop):
    done = {"paymentKey": "tsbx_unknown", "status": "DONE", "orderId": "smore-1-x"}
    assert (await gw.post_webhook(client, done, SANDBOX_WEBHOOK_SECRET)).json() == {"result": "ignored"}
    unknown = done | {"status": "CANCELED"}
    r = await gw.post_webhook(client, unknown, SANDBOX_WEBHOOK_SECRET)
    assert r.status_code == 200 and r.json()["result"] == "unknown"
