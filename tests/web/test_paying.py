"""Paying and refunding through HTTP: the order page, the sandbox gateway's hosted checkout (real
HTTP requests into the app's own sandbox), the success and fail URLs, the server-side confirm,
and refunds sent to the gateway by the worker."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.models.drops import PurchaseRight, RightStatus
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentAudit, PaymentStatus, Refund, RefundStatus, SettlementEntry
from tests.helpers.orders import ask_refund, open_checkout, paid_through_checkout, pay_with, settled_refund
from tests.helpers.waiting import wait_for
from tests.helpers.web import login, post_form


@pytest.fixture
def settings(settings):
    return settings.with_changes(gateway_timeout_seconds=0.5, sandbox_hang_seconds=1.5)


async def state(app, order_id: int):
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        payments = list(
            (await db.execute(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))).scalars()
        )
        right = await db.get(PurchaseRight, order.right_id)
        confirms = await db.scalar(
            select(func.count()).select_from(PaymentAudit).where(PaymentAudit.kind == "gateway.confirm")
        )
        return order, payments, right, confirms


async def test_paying_with_the_approve_card_pays_order_payment_and_right(client, shop, members, products):
    _, order_id, _, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve")
    assert back.startswith(f"/orders/{order_id}/pay/success?") and "paymentKey=" in back
    r = await client.get(back)
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{order_id}"
    page = await client.get(f"/orders/{order_id}")
    assert "Paid. Thank you!" in page.text
    order, payments, right, confirms = await state(shop, order_id)
    assert order.status is OrderStatus.PAID and right.status is RightStatus.PAID
    assert [p.status for p in payments] == [PaymentStatus.DONE] and confirms == 1
    async with shop.state.database.transaction() as db:
        trail = list((await db.execute(select(PaymentAudit))).scalars())
    assert all("test_sk" not in str(a.request) for a in trail)
    assert any(a.kind == "gateway.confirm" and a.http_status == 200 for a in trail)
    again = await client.get(back)  # the success URL replayed: the same answer, no second charge
    assert again.status_code == 303 and (await state(shop, order_id))[3] == 1


@pytest.mark.parametrize(
    ("card", "message"),
    [("decline", "declined"), ("insufficient", "not enough funds"), ("timeout", "nothing was charged")],
)
async def test_a_refused_payment_keeps_the_right_and_offers_pay_again(client, shop, members, products, card, message):
    _, order_id, _right_id, query = await open_checkout(client, shop, members, products)
    r = await client.get(await pay_with(client, query, card))
    assert r.status_code == 303
    page = await client.get(f"/orders/{order_id}")
    assert message in page.text.lower(), page.text
    assert 'id="pay-button"' in page.text and "Pay again" in page.text
    order, payments, right, _ = await state(shop, order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payments[0].status is PaymentStatus.FAILED
    assert right.status is RightStatus.HELD  # its unit stays the shopper's until the deadline


async def test_after_a_declined_card_another_card_pays_the_same_order(client, shop, members, products):
    _, order_id, _right_id, query = await open_checkout(client, shop, members, products)
    assert (await client.get(await pay_with(client, query, "decline"))).status_code == 303
    r = await post_form(client, f"/orders/{order_id}/pay")
    assert r.status_code == 303 and "/sandbox-gateway/checkout?" in r.headers["location"]
    second = parse_qs(urlsplit(r.headers["location"]).query)
    assert second["orderId"] != query["orderId"]  # a new attempt
    assert (await client.get(await pay_with(client, second, "approve"))).status_code == 303
    order, payments, right, _ = await state(shop, order_id)
    assert order.status is OrderStatus.PAID and right.status is RightStatus.PAID
    assert [p.status for p in payments] == [PaymentStatus.FAILED, PaymentStatus.DONE]


async def test_an_approval_whose_answer_is_lost_is_found_by_the_lookup(client, shop, members, products):
    _, order_id, _, query = await open_checkout(client, shop, members, products)
    started = time.monotonic()
    r = await client.get(await pay_with(client, query, "lost-response"))
    assert r.status_code == 303 and time.monotonic() - started < 1.4  # did not wait for the lost answer
    order, payments, _, _ = await state(shop, order_id)
    assert order.status is OrderStatus.PAID and payments[0].status is PaymentStatus.DONE


async def test_cancelling_in_the_checkout_keeps_the_order_payable(client, shop, members, products):
    _, order_id, _right_id, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve", action="cancel")
    assert back.startswith(f"/orders/{order_id}/pay/fail?") and "code=PAY_PROCESS_CANCELED" in back
    assert (await client.get(back)).status_code == 303
    order, payments, right, confirms = await state(shop, order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payments[0].status is PaymentStatus.FAILED and confirms == 0
    assert right.status is RightStatus.HELD


async def test_a_tampered_success_url_is_refused_and_changes_nothing(client, shop, members, products):
    _member, order_id, _, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve")
    for old, new in (("amount=10000", "amount=100"), ("orderId=smore-", "orderId=other-")):
        r = await client.get(back.replace(old, new))
        assert r.status_code in (400, 404), (old, r.status_code)
    assert (await client.get(f"/orders/{order_id}/pay/success?paymentKey=x")).status_code == 400
    order, payments, _, confirms = await state(shop, order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payments[0].status is PaymentStatus.READY
    assert confirms == 0  # the gateway was never asked
    other = await members.create()
    await login(client, other.email)
    assert (await client.get(back)).status_code == 404  # another member's order


async def test_a_confirm_replayed_twenty_times_at_once_charges_once(client, shop, members, products):
    _, order_id, _, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve")
    answers = await asyncio.gather(*(client.get(back) for _ in range(20)))
    assert {a.status_code for a in answers} == {303}
    assert {a.headers["location"] for a in answers} == {f"/orders/{order_id}"}
    order, payments, _right, _ = await state(shop, order_id)
    assert order.status is OrderStatus.PAID and [p.status for p in payments] == [PaymentStatus.DONE]
    async with shop.state.database.transaction() as db:
        done_events = await db.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "payment.done")
        )
        approvals = await db.scalar(
            select(func.count())
            .select_from(PaymentAudit)
            .where(PaymentAudit.kind == "gateway.confirm", PaymentAudit.http_status == 200)
        )
    assert done_events == 1 and approvals == 1


async def test_a_partial_refund_goes_through_the_gateway_and_settles(client, shop, members, products):
    shopper, order_id = await paid_through_checkout(client, shop, members, products)
    r = await ask_refund(client, order_id, {"quantity": "0", "amount": "4000", "reason": "dented"})
    assert r.status_code == 303
    async with shop.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        refund = (await db.execute(select(Refund))).scalar_one()
    assert refund.status is RefundStatus.REQUESTED  # money only: the seller decides
    await login(client, (await members.get(order.seller_id)).email)
    assert (await post_form(client, f"/seller/refunds/{refund.id}/approve")).status_code == 303
    refund = await settled_refund(shop, refund.id)
    assert refund.status is RefundStatus.DONE
    order, payments, _, _ = await state(shop, order_id)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert payments[0].status is PaymentStatus.PARTIALLY_CANCELLED and payments[0].refunded_amount == 4_000

    async def both_entries():
        async with shop.state.database.transaction() as db:
            nets = sorted((await db.execute(select(SettlementEntry.net))).scalars())
        return nets if len(nets) == 2 else None

    assert await wait_for(both_entries, 15, "the settlement entries") == [-3_600, 9_000]
    await login(client, shopper.email)
    page = await client.get(f"/orders/{order_id}")
    assert "Partially refunded" in page.text and "dented" in page.text
