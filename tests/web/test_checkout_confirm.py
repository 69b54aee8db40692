"""The checkout's return URLs, as someone other than the shopper may write them: the confirm's
memory of an answer belongs to one member's payment and is read only after the payment is known
to be theirs, and the fail URL's ``message`` text is never shown: the shop says its own sentence
for the gateway's code."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import select

from app.gateway.errors import GENERIC_MESSAGE, USER_MESSAGES
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentAudit, PaymentChange, PaymentStatus
from tests.helpers.gateway import in_process_gateway
from tests.helpers.orders import open_checkout, pay_with
from tests.helpers.web import login

SCAM = "Call 010-0000-0000 to claim a refund at evil.example"


@pytest.fixture
async def shop(app):
    with in_process_gateway(app):
        yield app


async def order_and_payment(app, order_id: int) -> tuple[Order, Payment]:
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
        return order, payment


async def test_another_member_replaying_a_paid_success_url_gets_404(client, shop, members, products):
    _owner, _order_id, _, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve")
    assert (await client.get(back)).status_code == 303  # paid, and the answer remembered
    other = await members.create()
    await login(client, other.email)
    r = await client.get(back)
    assert r.status_code == 404 and "Paid" not in r.text
    page = await client.get("/orders")
    assert "Paid. Thank you!" not in page.text


async def test_another_member_cannot_poison_an_unconfirmed_payment(client, shop, members, products):
    owner, owner_order, _, owner_query = await open_checkout(client, shop, members, products)
    owner_back = await pay_with(client, owner_query, "approve")  # not visited yet: unconfirmed
    victim_key = parse_qs(urlsplit(owner_back).query)["paymentKey"][0]
    _attacker, attacker_order, _, attacker_query = await open_checkout(client, shop, members, products)
    attacker_gateway_order = attacker_query["orderId"][0]
    assert (await client.get(owner_back)).status_code == 404  # the owner's order is not theirs
    # the owner's paymentKey on the attacker's own order: refused by the gateway, the attacker's own failure
    poisoned = f"/orders/{attacker_order}/pay/success?paymentKey={victim_key}&orderId={attacker_gateway_order}"
    assert (await client.get(poisoned + "&amount=10000")).status_code == 303
    order, payment = await order_and_payment(shop, owner_order)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payment.status is PaymentStatus.READY
    await login(client, owner.email)
    r = await client.get(owner_back)
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{owner_order}"
    assert "Paid. Thank you!" in (await client.get(r.headers["location"])).text
    order, payment = await order_and_payment(shop, owner_order)
    assert order.status is OrderStatus.PAID and payment.status is PaymentStatus.DONE


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("REJECT_CARD_PAYMENT", USER_MESSAGES["REJECT_CARD_PAYMENT"]),
        ("PAY_PROCESS_CANCELED", USER_MESSAGES["PAY_PROCESS_CANCELED"]),
        ("SOMETHING_NEW_AT_THE_GATEWAY", GENERIC_MESSAGE),
        ("<b>bold</b>", GENERIC_MESSAGE),
    ],
)
async def test_the_fail_url_shows_the_shops_sentence_for_the_code_never_its_message(
    client, shop, members, products, code, sentence
):
    _member, order_id, _, query = await open_checkout(client, shop, members, products)
    gateway_order = query["orderId"][0]
    url = f"/orders/{order_id}/pay/fail?code={quote(code)}&message={quote(SCAM)}&orderId={gateway_order}"
    r = await client.get(url)
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{order_id}"
    page = (await client.get(r.headers["location"])).text
    assert sentence.replace("'", "&#39;") in page and "evil.example" not in page
    again = (await client.get(f"/orders/{order_id}")).text  # the order page keeps showing the shop's words
    assert "evil.example" not in again
    order, payment = await order_and_payment(shop, order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payment.status is PaymentStatus.FAILED  # pay again
    assert payment.failure_message == sentence and "<" not in (payment.failure_code or "")
    async with shop.state.database.transaction() as db:
        kept = [c.reason for c in (await db.execute(select(PaymentChange))).scalars()]
        kept += [a.summary for a in (await db.execute(select(PaymentAudit))).scalars()]
    assert not any("evil.example" in (text or "") for text in kept)


async def test_a_fail_url_without_an_order_id_changes_nothing_and_shows_no_message(client, shop, members, products):
    _member, order_id, _, _query = await open_checkout(client, shop, members, products)
    r = await client.get(f"/orders/{order_id}/pay/fail?message={quote(SCAM)}")
    assert r.status_code == 303
    assert "evil.example" not in (await client.get(r.headers["location"])).text
    order, payment = await order_and_payment(shop, order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT and payment.status is PaymentStatus.READY
