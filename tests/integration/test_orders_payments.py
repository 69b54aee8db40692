"""Orders and payments on the database this suite runs on: an order per purchase right, made
once however often the event arrives; paying moves payment, right and order together; a declined
card keeps the right until its deadline, a failed confirm that cannot be retried returns the
unit; refunds never exceed what was paid, even when they race; settlement entries are written
once per event."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.drops.stock import ledger_sum
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus
from app.models.orders import Order, OrderChange, OrderStatus
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus, SettlementEntry
from app.orders.service import order_for_right
from app.payments.refund_requests import approve, request_money
from app.payments.refunds import complete_refund, release_refund, request_refund
from app.payments.rules import RefundRefused
from app.payments.service import record_done, record_failed, start_payment
from app.payments.settlement import balance, settle_payment, settle_refund
from tests.helpers.auctions import dispatch_all
from tests.helpers.drops import expire_now
from tests.helpers.orders import granted_right, paid_order


async def test_one_order_per_right_however_often_it_is_asked_for(app, members, products):
    _, member, right_id = await granted_right(app, members, products)

    async def make():
        async with app.state.database.transaction() as db:
            return (await order_for_right(db, right_id)).id

    ids = await asyncio.gather(*(make() for _ in range(10)), return_exceptions=True)
    assert len({i for i in ids if isinstance(i, int)}) == 1
    async with app.state.database.transaction() as db:
        orders = list((await db.execute(select(Order).where(Order.right_id == right_id))).scalars())
        assert len(orders) == 1 and orders[0].status is OrderStatus.AWAITING_PAYMENT
        assert orders[0].member_id == member.id and orders[0].amount == 10_000
        steps = [c.to_status for c in (await db.execute(select(OrderChange).order_by(OrderChange.id))).scalars()]
        assert steps == [OrderStatus.CREATED, OrderStatus.AWAITING_PAYMENT]


async def test_paying_moves_payment_right_and_order_and_settles_once(app, members, products):
    order, payment = await paid_order(app, members, products)
    assert order.status is OrderStatus.PAID and payment.status is PaymentStatus.DONE
    assert payment.fee_basis_points == 1000  # the policy in force, copied
    async with app.state.database.transaction() as db:
        right = await db.get(PurchaseRight, order.right_id)
        assert right.status is RightStatus.PAID
        assert await settle_payment(db, payment.id) is True
        assert await settle_payment(db, payment.id) is False  # a redelivered event
        assert await balance(db, order.seller_id) == 9_000


async def _failed_attempt(app, right_id: int, code: str):
    async with app.state.database.transaction() as db:
        order = await order_for_right(db, right_id)
        payment = await start_payment(db, order)
        payment.status = PaymentStatus.IN_PROGRESS
    async with app.state.database.transaction() as db:
        outcome = await record_failed(db, payment.id, code, "Your card was declined.")
    return order, payment, outcome


async def test_a_declined_card_keeps_the_right_and_its_unit_until_the_deadline(app, members, products):
    product, _, right_id = await granted_right(app, members, products, fixed=1)
    order, payment, outcome = await _failed_attempt(app, right_id, "REJECT_CARD_PAYMENT")
    assert outcome.state == "failed" and outcome.right_released is None
    async with app.state.database.transaction() as db:
        assert (await db.get(Payment, payment.id)).status is PaymentStatus.FAILED
        assert (await db.get(Order, order.id)).status is OrderStatus.AWAITING_PAYMENT
        assert (await db.get(PurchaseRight, right_id)).status is RightStatus.HELD
        fresh = await db.get(Product, product.id)
        assert fresh.status is ProductStatus.CONVERSION_PENDING and fresh.fixed_left == 0 == await ledger_sum(
            db, product.id
        )
        again = await start_payment(db, await db.get(Order, order.id))  # another card: a new attempt
        again.status = PaymentStatus.IN_PROGRESS
        again.payment_key = "pk-second-card"
    async with app.state.database.transaction() as db:
        assert (await record_done(db, again.id, method="card", approved_at=utcnow())).state == "paid"
    async with app.state.database.transaction() as db:
        assert (await db.get(Order, order.id)).status is OrderStatus.PAID
        assert (await db.get(PurchaseRight, right_id)).status is RightStatus.PAID


async def test_a_declined_right_returns_its_unit_at_the_deadline(app, members, products):
    product, _, right_id = await granted_right(app, members, products, fixed=1)
    order, _payment, _ = await _failed_attempt(app, right_id, "REJECT_CARD_PAYMENT")
    await expire_now(app, right_id)
    await dispatch_all(app)
    async with app.state.database.transaction() as db:
        assert (await db.get(PurchaseRight, right_id)).status is RightStatus.EXPIRED
        assert (await db.get(Order, order.id)).status is OrderStatus.CANCELLED
        fresh = await db.get(Product, product.id)
        assert fresh.status is ProductStatus.ON_SALE and fresh.fixed_left == 1 == await ledger_sum(db, product.id)


async def test_a_failed_confirm_that_cannot_be_retried_fails_the_order_and_returns_the_unit(app, members, products):
    product, _, right_id = await granted_right(app, members, products, fixed=1)
    order, payment, outcome = await _failed_attempt(app, right_id, "ALREADY_PROCESSED_PAYMENT")
    assert outcome.state == "failed" and outcome.right_released is not None
    async with app.state.database.transaction() as db:
        assert (await db.get(Order, order.id)).status is OrderStatus.FAILED
        assert (await db.get(PurchaseRight, right_id)).status is RightStatus.CANCELLED
        fresh = await db.get(Product, product.id)
        assert fresh.status is ProductStatus.ON_SALE and fresh.fixed_left == 1 == await ledger_sum(db, product.id)
        again = await record_failed(db, payment.id, "ALREADY_PROCESSED_PAYMENT", "again")  # redelivered: no-op
        assert again.right_released is None


async def test_approval_after_the_deadline_cancels_the_order_and_refunds_in_full(app, members, products):
    _product, _, right_id = await granted_right(app, members, products)
    async with app.state.database.transaction() as db:
        order = await order_for_right(db, right_id)
        payment = await start_payment(db, order)
        payment.status = PaymentStatus.IN_PROGRESS
        payment.payment_key = "pk-late"
        await db.execute(update(PurchaseRight).where(PurchaseRight.id == right_id).values(status=RightStatus.EXPIRED))
    async with app.state.database.transaction() as db:
        outcome = await record_done(db, payment.id, method="card", approved_at=utcnow())
    assert outcome.state == "refused"
    async with app.state.database.transaction() as db:
        assert (await db.get(Order, order.id)).status is OrderStatus.CANCELLED
        refund = (await db.execute(select(Refund).where(Refund.payment_id == payment.id))).scalar_one()
        assert refund.amount == 10_000 and refund.status is RefundStatus.RESERVED


async def test_partial_refunds_add_up_and_return_units_while_on_sale(app, members, products):
    order, payment = await paid_order(app, members, products)
    seller = await members.get(order.seller_id)
    async with app.state.database.transaction() as db:
        await settle_payment(db, payment.id)
        order = await db.get(Order, order.id)
        first = await request_money(db, order, amount=3_000, reason="scratched box", actor_id=order.member_id)
        assert first.status is RefundStatus.REQUESTED and (await db.get(Payment, payment.id)).refund_reserved == 0
    async with app.state.database.transaction() as db:
        await approve(db, first.id, seller, seller.id)
    async with app.state.database.transaction() as db:
        assert await complete_refund(db, first.id) is True
        assert await complete_refund(db, first.id) is False
        await settle_refund(db, first.id)
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order.id)
        assert order.status is OrderStatus.PARTIALLY_REFUNDED
        with pytest.raises(RefundRefused):
            await request_money(db, order, amount=7_001, reason="more", actor_id=order.member_id)
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order.id)
        second = await request_refund(db, order, quantity=1, reason="returned", actor_id=1)
        assert second.amount == 7_000  # the unit's price, capped at what is left
    async with app.state.database.transaction() as db:
        await complete_refund(db, second.id)
        await settle_refund(db, second.id)
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order.id)
        payment = await db.get(Payment, payment.id)
        assert order.status is OrderStatus.REFUNDED and payment.status is PaymentStatus.CANCELLED
        assert payment.refunded_amount == 10_000 and payment.refund_reserved == 0
        product = await db.get(Product, order.product_id)
        assert product.fixed_left == 3 == await ledger_sum(db, product.id)  # the unit is back on sale
        assert await balance(db, order.seller_id) == 0


async def test_a_refused_refund_releases_its_reservation(app, members, products):
    order, payment = await paid_order(app, members, products)
    async with app.state.database.transaction() as db:
        refund = await request_refund(db, await db.get(Order, order.id), quantity=1, reason="x", actor_id=1)
    async with app.state.database.transaction() as db:
        assert await release_refund(db, refund.id, "not cancelable") is True
    async with app.state.database.transaction() as db:
        payment = await db.get(Payment, payment.id)
        order = await db.get(Order, order.id)
        assert payment.refund_reserved == 0 and order.refunded_quantity == 0 and order.status is OrderStatus.PAID


async def test_twenty_concurrent_refunds_never_exceed_what_was_paid(app, members, products):
    order, payment = await paid_order(app, members, products, price=10_000)

    async def ask() -> int | str:
        try:
            async with app.state.database.transaction() as db:
                fresh = await db.get(Order, order.id)
                return (await request_refund(db, fresh, quantity=1, reason="race", actor_id=1)).amount
        except RefundRefused as exc:
            return exc.field
        except Exception as exc:  # a serialisation failure or lock timeout is a refusal too
            return type(exc).__name__

    answers = await asyncio.gather(*(ask() for _ in range(20)))
    granted = [a for a in answers if isinstance(a, int)]
    assert granted == [10_000]  # the order's one unit, once
    async with app.state.database.transaction() as db:
        total = await db.scalar(select(func.sum(Refund.amount)).where(Refund.payment_id == payment.id))
        payment = await db.get(Payment, payment.id)
        assert total == payment.refund_reserved == 10_000
        assert (await db.get(Order, order.id)).refunded_quantity == 1
        assert await db.scalar(select(func.count()).select_from(SettlementEntry)) == 0


async def test_paid_orders_complete_when_the_refund_period_ends(app, members, products):
    from app.payments.refunds import complete_settled_orders

    order, _ = await paid_order(app, members, products)
    async with app.state.database.transaction() as db:
        assert await complete_settled_orders(db) == 0  # 100 % refundable for the first 24 hours
        assert await complete_settled_orders(db, now=utcnow() + timedelta(hours=73)) == 1
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order.id)
        assert order.status is OrderStatus.COMPLETED
        assert await complete_settled_orders(db, now=utcnow() + timedelta(hours=73)) == 0


async def test_an_order_not_paid_by_its_deadline_is_cancelled_and_its_checkout_called_off(app, members, products):
    """The right's expiry (its delayed message or the sweep) returns the unit; the order follows
    through the right-expired event, handled once however often it is delivered."""
    from app.drops.stock import release_right
    from app.events.dispatch import dispatch
    from app.models.drops import StockReason
    from app.models.events import OutboxEvent

    product, _, right_id = await granted_right(app, members, products)
    async with app.state.database.transaction() as db:
        order = await order_for_right(db, right_id)
        payment = await start_payment(db, order)
    async with app.state.database.transaction() as db:
        later = utcnow() + timedelta(hours=1)
        assert await release_right(db, right_id, RightStatus.EXPIRED, StockReason.EXPIRY, now=later) is not None
    async with app.state.database.transaction() as db:
        event_id = (
            await db.execute(select(OutboxEvent.id).where(OutboxEvent.topic == "drop.right_expired"))
        ).scalar_one()
    for _ in range(2):  # a redelivery changes nothing
        await dispatch(app.state.database, event_id)
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order.id)
        assert order.status is OrderStatus.CANCELLED
        assert (await db.get(Payment, payment.id)).status is PaymentStatus.CANCELLED
        steps = (await db.execute(select(OrderChange.reason).where(OrderChange.order_id == order.id))).scalars()
        assert "not paid by the deadline" in list(steps)
        assert (await db.get(Product, product.id)).fixed_left == 3 == await ledger_sum(db, product.id)
