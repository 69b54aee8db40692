"""Refunds follow the rules, through HTTP: the shopper returns units and the amount follows from
the unit price, the quantity and the payment's refund policy; the units go back on sale while the
sale runs (or are recorded returned after it); a request for money only is never approved by
itself; bad input is refused next to its field and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import StockEntry
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentAudit, Refund, RefundStatus
from tests.helpers.orders import ask_refund, paid_order, paid_through_checkout, settled_refund
from tests.helpers.web import field_error, login


async def counts(app) -> tuple[int, int, int]:
    """Refund rows, money reserved on every payment, refund events: what a refusal must not change."""
    async with app.state.database.transaction() as db:
        refunds = await db.scalar(select(func.count()).select_from(Refund))
        reserved = await db.scalar(select(func.coalesce(func.sum(Payment.refund_reserved), 0)))
        events = await db.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic.like("refund.%"))
        )
    return refunds, reserved, events


async def signed_in_owner(client, members, order: Order) -> None:
    await login(client, (await members.get(order.member_id)).email)


async def paid_hours_ago(app, payment_id: int, hours: float) -> None:
    async with app.state.database.transaction() as db:
        approved = utcnow() - timedelta(hours=hours)
        await db.execute(update(Payment).where(Payment.id == payment_id).values(approved_at=approved))


async def test_a_returned_unit_is_refunded_its_price_and_goes_back_on_sale(client, shop, members, products):
    _shopper, order_id = await paid_through_checkout(client, shop, members, products)
    form = await client.get(f"/orders/{order_id}/refund")
    assert form.status_code == 200 and 'id="per-unit">₩10,000' in form.text and 'name="amount"' not in form.text
    r = await ask_refund(client, order_id, {"kind": "units", "quantity": "1", "reason": "changed my mind"})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Refund of ₩10,000 for 1 unit requested" in page.text
    async with shop.state.database.transaction() as db:
        refund = (await db.execute(select(Refund))).scalar_one()
        product_id = (await db.get(Order, order_id)).product_id
        taken_before = (await db.get(Product, product_id)).taken_quantity
    assert (refund.amount, refund.quantity, refund.status) == (10_000, 1, RefundStatus.RESERVED)
    assert (await settled_refund(shop, refund.id)).status is RefundStatus.DONE
    async with shop.state.database.transaction() as db:
        assert (await db.get(Order, order_id)).status is OrderStatus.REFUNDED
        assert (await db.get(Product, product_id)).taken_quantity == taken_before - 1  # back on sale
        back = select(StockEntry.delta).where(StockEntry.reference == f"refund:{refund.id}")
        assert list((await db.execute(back)).scalars()) == [1]


async def test_the_amount_follows_the_policy_rate_never_the_form(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    await paid_hours_ago(app, payment.id, 30)  # the default policy refunds 50 % between 24 and 72 hours
    await signed_in_owner(client, members, order)
    form = await client.get(f"/orders/{order.id}/refund")
    assert "<strong>50%</strong>" in form.text and 'id="per-unit">₩5,000' in form.text
    before = await counts(app)
    for amount in ("10000", "5000", "1"):  # a free amount with returned units is refused, whatever it is
        r = await ask_refund(client, order.id, {"quantity": "1", "amount": amount, "reason": "x"})
        assert r.status_code == 422 and "leave the amount empty" in r.text
    assert await counts(app) == before
    r = await ask_refund(client, order.id, {"quantity": "1", "reason": "broken"})
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        refund = (await db.execute(select(Refund))).scalar_one()
        assert (refund.amount, refund.quantity) == (5_000, 1)
        assert (await db.get(Payment, payment.id)).refund_reserved == 5_000


async def test_a_request_for_money_only_is_never_approved_by_itself(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    await signed_in_owner(client, members, order)
    r = await ask_refund(client, order.id, {"quantity": "0", "amount": "10000", "reason": "never arrived"})
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        refund = (await db.execute(select(Refund))).scalar_one()
        assert refund.status is RefundStatus.REQUESTED and refund.quantity == 0
        assert (await db.get(Payment, payment.id)).refund_reserved == 0  # nothing held, nothing sent
        fresh = await db.get(Order, order.id)
        assert fresh.status is OrderStatus.PAID and fresh.refunded_quantity == 0
        sent = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "refund.reserved")
        assert await db.scalar(sent) == 0
    page = await client.get(f"/orders/{order.id}")
    assert "waiting for the seller&#39;s decision" in page.text and "never arrived" in page.text
    again = await client.get(f"/orders/{order.id}/refund?kind=money")
    assert 'id="request-waiting"' in again.text and 'id="money-form"' not in again.text
    second = await ask_refund(client, order.id, {"kind": "money", "quantity": "0", "amount": "100", "reason": "y"})
    assert second.status_code == 422 and 'role="alert">Your earlier request is still waiting' in second.text
    assert (await counts(app))[0] == 1


@pytest.mark.parametrize(
    ("data", "name", "text"),
    [
        ({"quantity": "²"}, "quantity", "whole number"),
        ({"quantity": "١"}, "quantity", "whole number"),  # an Arabic-Indic one
        ({"quantity": "-1"}, "quantity", "whole number"),
        ({"quantity": "99999999999999999999"}, "quantity", "whole number"),
        ({"quantity": "0", "amount": "²000"}, "amount", "whole won"),
        ({"quantity": "0", "amount": "0"}, "amount", "at least ₩1"),
        ({"quantity": "0", "amount": "10001"}, "amount", "At most ₩10,000"),
        ({"quantity": "0"}, "quantity", "Choose the units"),
        ({"quantity": "2"}, "quantity", "between 1 and 1"),
        ({"quantity": "1", "reason": "x" * 301}, "reason", "300"),
        ({"quantity": "1", "reason": "   "}, "reason", "why"),
    ],
)
async def test_bad_input_is_refused_next_to_its_field_and_writes_nothing(
    client, app, members, products, data, name, text
):
    order, _payment = await paid_order(app, members, products)
    await signed_in_owner(client, members, order)
    before = await counts(app)
    r = await ask_refund(client, order.id, {"reason": "because"} | data)
    assert r.status_code == 422
    assert text in field_error(r.text, name), field_error(r.text, name)
    assert await counts(app) == before


async def test_after_the_refund_period_neither_way_is_open(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    await paid_hours_ago(app, payment.id, 80)  # past the last tier of the default policy
    await signed_in_owner(client, members, order)
    assert "the refund period has ended" in (await client.get(f"/orders/{order.id}/refund")).text
    for data in ({"quantity": "1"}, {"quantity": "0", "amount": "100"}):
        r = await ask_refund(client, order.id, data | {"reason": "late"})
        assert r.status_code == 422 and "the refund period has ended" in r.text
    assert (await counts(app))[0] == 0


async def test_units_returned_after_the_sale_ended_are_recorded_not_restocked(client, shop, members, products):
    _shopper, order_id = await paid_through_checkout(client, shop, members, products)
    async with shop.state.database.transaction() as db:
        product_id = (await db.get(Order, order_id)).product_id
        await db.execute(update(Product).where(Product.id == product_id).values(status=ProductStatus.ENDED))
        taken = (await db.get(Product, product_id)).taken_quantity
    r = await ask_refund(client, order_id, {"quantity": "1", "reason": "late return"})
    assert r.status_code == 303
    async with shop.state.database.transaction() as db:
        refund = (await db.execute(select(Refund))).scalar_one()
    assert (await settled_refund(shop, refund.id)).status is RefundStatus.DONE
    async with shop.state.database.transaction() as db:
        assert (await db.get(Product, product_id)).taken_quantity == taken
        noted = select(PaymentAudit.summary).where(PaymentAudit.order_id == order_id, PaymentAudit.kind == "refund")
        assert any("recorded, not returned to stock" in line for line in (await db.execute(noted)).scalars())
        assert (await db.get(Order, order_id)).status is OrderStatus.REFUNDED
