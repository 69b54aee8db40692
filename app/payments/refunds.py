"""Refunds. The shopper returns units: the amount follows from the unit price, the quantity and
the refund policy of the payment, and is reserved against the payment in one conditional UPDATE
(the payment row locked first, so the policy is applied to what is really left), so however many
requests race, reserved plus refunded never exceeds what was paid. A request for money only
waits for the seller's or an admin's decision (``refund_requests``) and, approved, is reserved
the same way. A Dramatiq actor then asks the gateway to cancel that amount (the refund's own
Idempotency-Key makes a retried or redelivered call harmless) and completes the refund (the
units back to sale while the sale runs), or releases the reservation if the gateway refuses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.core.i18n import _
from app.core.results import rows_changed
from app.core.status import Aggregate, Move, columns, created, move, register, try_move
from app.db import add_once, after_commit
from app.drops.gate import StockChange
from app.drops.stock import STOCK_OPEN, ledger_entry, tell_gate
from app.events.outbox import record_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import StockReason
from app.models.orders import Order, OrderSource, OrderStatus
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus
from app.observability.metrics import count_refund, later
from app.orders.rules import PAID_STATES
from app.payments.audit import audit
from app.payments.rules import REFUND_FINAL, REFUND_STATUS, REFUNDABLE, RefundRefused, quote_units, refund_rate

publishes(Topic.REFUND_RESERVED)  # a new refund; its moves publish refund.reserved / done / failed / rejected


def _stamps(step: Move[RefundStatus]) -> dict[str, object]:
    """When a refund settled; and for a request for money only, who decided it and when."""
    stamps: dict[str, object] = {"completed_at": step.now} if step.target in REFUND_FINAL else {}
    if step.source is RefundStatus.REQUESTED:
        stamps |= {"decided_at": step.now, "decided_by_id": step.actor_id}
    return stamps


REFUND = register(Aggregate("refund", Refund, REFUND_STATUS, values=_stamps, payload=columns("order_id")))


@dataclass(frozen=True)
class RefundView:
    """What the refund form shows: the rate in force, what one unit refunds, the most each way may
    refund, and the request for money only still waiting for a decision, if any."""

    rate: int
    units_left: int
    money_left: int
    per_unit: int
    max_for_all_units: int
    waiting: Refund | None = None


async def paid_payment(db: AsyncSession, order: Order) -> Payment | None:
    return (
        await db.execute(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status.in_(REFUNDABLE))
            .order_by(Payment.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def waiting_request(db: AsyncSession, order_id: int) -> Refund | None:
    """The order's request for money only that waits for the seller's or an admin's decision."""
    stmt = select(Refund).where(Refund.order_id == order_id, Refund.status == RefundStatus.REQUESTED).limit(1)
    return (await db.execute(stmt)).scalar_one_or_none()


async def refund_view(db: AsyncSession, order: Order) -> RefundView | None:
    payment = await paid_payment(db, order)
    if payment is None or order.status not in PAID_STATES or payment.approved_at is None:
        return None
    rate = refund_rate(payment.refund_tiers, payment.approved_at, utcnow())
    money_left = payment.amount - payment.refunded_amount - payment.refund_reserved
    units_left = order.quantity - order.refunded_quantity
    per_unit = order.unit_price * rate // 100
    most = min(money_left, order.unit_price * units_left * rate // 100)
    return RefundView(rate, units_left, money_left, per_unit, most, await waiting_request(db, order.id))


async def lock_payments(db: AsyncSession, order_id: int) -> None:
    """Lock the order's payments before anything is read (a write that changes nothing): row locks
    on PostgreSQL; on SQLite the database's write lock, taken by the transaction's first statement,
    so a concurrent refund (or the worker completing one) waits its turn instead of failing with
    "database is locked" when its earlier read has gone stale."""
    await db.execute(
        update(Payment)
        .where(Payment.order_id == order_id)
        .values(refund_reserved=Payment.refund_reserved)
        .execution_options(synchronize_session=False)
    )


async def refundable_payment(db: AsyncSession, order: Order, field: str) -> Payment:
    """The order's payment a refund may be taken from, or ``RefundRefused`` on ``field``."""
    if order.status not in PAID_STATES:
        raise RefundRefused(field, _("Only a paid order can be refunded."))
    await lock_payments(db, order.id)
    payment = await paid_payment(db, order)
    if payment is None or payment.approved_at is None:
        raise RefundRefused(field, _("This order has no payment to refund."))
    return payment


async def lock_left(db: AsyncSession, order: Order, payment: Payment) -> tuple[int, int]:
    """Lock the payment and the order (a write that changes nothing: the row lock on PostgreSQL,
    the write lock on SQLite), then read what is really left: (money, units)."""
    locked = (
        await db.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(refund_reserved=Payment.refund_reserved)
            .returning(Payment.amount, Payment.refunded_amount, Payment.refund_reserved)
            .execution_options(synchronize_session=False)
        )
    ).one()
    refunded_units = await db.scalar(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_quantity=Order.refunded_quantity)
        .returning(Order.refunded_quantity)
        .execution_options(synchronize_session=False)
    )
    return locked.amount - locked.refunded_amount - locked.refund_reserved, order.quantity - int(refunded_units or 0)


async def request_refund(db: AsyncSession, order: Order, *, quantity: int, reason: str, actor_id: int) -> Refund:
    """Return ``quantity`` units for what the payment's policy refunds for them now, reserved at
    once; or raise ``RefundRefused`` (field, message)."""
    if not reason.strip():
        raise RefundRefused("reason", _("Tell us why you want a refund."))
    payment = await refundable_payment(db, order, "quantity")
    assert payment.approved_at is not None
    money_left, units_left = await lock_left(db, order, payment)
    quote = quote_units(
        unit_price=order.unit_price,
        units_left=units_left,
        money_left=money_left,
        rate=refund_rate(payment.refund_tiers, payment.approved_at, utcnow()),
        quantity=quantity,
    )
    return await _reserve(db, order, payment, quote.amount, quote.quantity, reason.strip(), actor_id)


async def hold(db: AsyncSession, order: Order, payment: Payment, amount: int, quantity: int) -> None:
    """Reserve ``amount`` (and ``quantity`` units) against the payment and the order, each in one
    conditional UPDATE; ``RefundRefused`` when not that much is left."""
    reserved = await db.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status.in_(REFUNDABLE),
            Payment.refunded_amount + Payment.refund_reserved + amount <= Payment.amount,
        )
        .values(refund_reserved=Payment.refund_reserved + amount)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(reserved) != 1:
        raise RefundRefused("amount", _("That is more than is left to refund on this order."))
    if quantity:
        taken = await db.execute(
            update(Order)
            .where(Order.id == order.id, Order.refunded_quantity + quantity <= Order.quantity)
            .values(refunded_quantity=Order.refunded_quantity + quantity)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(taken) != 1:
            raise RefundRefused("quantity", _("Those units have been refunded already."))


def new_refund(
    order: Order, payment: Payment, amount: int, quantity: int, reason: str, actor_id: int | None, status: RefundStatus
) -> Refund:
    """A refund row (not added) with its own gateway key."""
    return Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount=amount,
        quantity=quantity,
        reason=reason[:300],
        status=status,
        idempotency_key=f"refund-{uuid.uuid4().hex}",
        requested_by_id=actor_id,
    )


async def _reserve(
    db: AsyncSession,
    order: Order,
    payment: Payment,
    amount: int,
    quantity: int,
    reason: str,
    actor_id: int | None,
    *,
    announce: bool = True,
) -> Refund:
    await hold(db, order, payment, amount, quantity)
    refund = new_refund(order, payment, amount, quantity, reason, actor_id, RefundStatus.RESERVED)
    db.add(refund)
    await db.flush()
    created(db, refund, reason=reason)
    audit(
        db,
        "refund",
        f"refund {refund.id} of ₩{amount:,} reserved ({quantity} units): {reason}",
        payment_id=payment.id,
        order_id=order.id,
    )
    if announce:  # to be sent to the gateway
        await record_event(db, Topic.REFUND_RESERVED, "refund", refund.id, order_id=order.id)
    after_commit(db, later(count_refund, "reserved"))
    return refund


async def reserve_void(db: AsyncSession, payment: Payment, *, reason: str) -> Refund:
    """Give back the whole of a charge the shop cannot honour (no policy applies)."""
    order = await db.get(Order, payment.order_id)
    assert order is not None
    left = payment.amount - payment.refunded_amount - payment.refund_reserved
    if left <= 0:
        raise DomainError(_("Nothing left to refund."))
    return await _reserve(db, order, payment, left, 0, reason, None)


async def record_gateway_cancel(
    db: AsyncSession, order: Order, payment: Payment, *, amount: int, quantity: int, reason: str, transaction_key: str
) -> Refund:
    """A cancellation made at the gateway outside the shop, recorded as a done refund: the same
    reservation and completion as the shop's own (payment, order, stock, ``refund.done`` → the
    settlement reversal), never sent to the gateway. Its key is unique: recorded once."""
    refund = await _reserve(db, order, payment, amount, quantity, reason, None, announce=False)
    await complete_refund(db, refund.id, transaction_key=transaction_key)
    return refund


async def complete_refund(db: AsyncSession, refund_id: int, *, transaction_key: str | None = None) -> bool:
    """The gateway refunded (its cancellation ``transaction_key``): move the money counters, the
    payment, the order and the stock. False when the refund was settled already (a redelivery)."""
    refund = await _reserved(db, refund_id)
    if refund is None or not await try_move(
        db, refund, RefundStatus.DONE, reason="refunded by the gateway", gateway_transaction_key=transaction_key
    ):
        return False
    await db.execute(
        update(Payment)
        .where(Payment.id == refund.payment_id)
        .values(
            refunded_amount=Payment.refunded_amount + refund.amount,
            refund_reserved=Payment.refund_reserved - refund.amount,
        )
        .execution_options(synchronize_session=False)
    )
    payment = await db.get(Payment, refund.payment_id, populate_existing=True)
    order = await db.get(Order, refund.order_id, populate_existing=True)
    assert payment is not None and order is not None
    whole = payment.refunded_amount >= payment.amount
    target = PaymentStatus.CANCELLED if whole else PaymentStatus.PARTIALLY_CANCELLED
    if payment.status is not target:
        await try_move(db, payment, target, reason=f"refund {refund.id} of ₩{refund.amount:,}")
    if order.status in PAID_STATES:
        order_target = OrderStatus.REFUNDED if whole else OrderStatus.PARTIALLY_REFUNDED
        if order.status is not order_target:
            await move(db, order, order_target, reason=f"refund {refund.id} of ₩{refund.amount:,}")
    if refund.quantity:
        await _units_back(db, order, refund)
    audit(db, "refund", f"refund {refund.id} of ₩{refund.amount:,} done", payment_id=payment.id, order_id=order.id)
    after_commit(db, later(count_refund, "done", refund.amount))
    return True


async def _reserved(db: AsyncSession, refund_id: int) -> Refund | None:
    """A refund still waiting on the gateway, fresh from the database (None once settled)."""
    refund = await db.get(Refund, refund_id, populate_existing=True)
    return refund if refund is not None and refund.status is RefundStatus.RESERVED else None


async def release_refund(db: AsyncSession, refund_id: int, message: str) -> bool:
    """The gateway refused: the reservation (money and units) is released."""
    refund = await _reserved(db, refund_id)
    if refund is None or not await try_move(
        db, refund, RefundStatus.FAILED, reason=f"refused by the gateway: {message}", failure_message=message[:300]
    ):
        return False
    await db.execute(
        update(Payment)
        .where(Payment.id == refund.payment_id)
        .values(refund_reserved=Payment.refund_reserved - refund.amount)
        .execution_options(synchronize_session=False)
    )
    if refund.quantity:
        await db.execute(
            update(Order)
            .where(Order.id == refund.order_id)
            .values(refunded_quantity=Order.refunded_quantity - refund.quantity)
            .execution_options(synchronize_session=False)
        )
    audit(
        db,
        "refund",
        f"refund {refund.id} refused by the gateway: {message}",
        payment_id=refund.payment_id,
        order_id=refund.order_id,
    )
    after_commit(db, later(count_refund, "failed"))
    return True


async def _units_back(db: AsyncSession, order: Order, refund: Refund) -> None:
    """Refunded units return to sale while the fixed-price sale runs; after it has ended they
    are only recorded (stock never moves once a sale is over). An auction unit is never returned
    to the fixed-price stock."""
    if order.source is not OrderSource.DROP:
        audit(
            db,
            "refund",
            f"{refund.quantity} auction unit(s) refunded: recorded, not returned to stock",
            payment_id=refund.payment_id,
            order_id=order.id,
        )
        return
    returned = (
        await db.execute(
            update(Product)
            .where(
                Product.id == order.product_id,
                Product.status.in_(STOCK_OPEN),
                Product.taken_quantity >= refund.quantity,
            )
            .values(taken_quantity=Product.taken_quantity - refund.quantity, stock_version=Product.stock_version + 1)
            .returning(Product.stock_version)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if returned is not None:
        tell_gate(db, StockChange(order.product_id, returned, +refund.quantity))
    if returned is None:
        audit(
            db,
            "refund",
            f"{refund.quantity} unit(s) refunded after the sale ended: recorded, not returned to stock",
            payment_id=refund.payment_id,
            order_id=order.id,
        )
        return
    await add_once(db, ledger_entry(order.product_id, refund.quantity, StockReason.REFUND, f"refund:{refund.id}"))
    product = await db.get(Product, order.product_id, populate_existing=True)
    if product is not None and product.status is ProductStatus.CONVERSION_PENDING:
        await try_move(db, product, ProductStatus.ON_SALE, reason="refunded units came back")


async def refunds_of(db: AsyncSession, order_id: int) -> list[Refund]:
    return list((await db.execute(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))).scalars())


async def complete_settled_orders(db: AsyncSession, now: datetime | None = None, limit: int = 500) -> int:
    """Paid orders whose refund period is over are completed (nothing can change them any more)."""
    now = now or utcnow()
    rows = (
        await db.execute(
            select(Order, Payment)
            .join(Payment, Payment.order_id == Order.id)
            .where(Order.status == OrderStatus.PAID, Payment.status == PaymentStatus.DONE)
            .order_by(Order.paid_at)
            .limit(limit)
        )
    ).all()
    done = 0
    for order, payment in rows:
        if payment.approved_at is not None and refund_rate(payment.refund_tiers, payment.approved_at, now) == 0:
            await move(db, order, OrderStatus.COMPLETED, reason="the refund period ended")
            done += 1
    return done
