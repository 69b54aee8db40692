"""Paying an order through the gateway.

A confirm runs in three steps so that no database transaction is open while the gateway is
called: (1) a short transaction claims the payment (``ready → in_progress`` by a conditional
update, so of 20 identical confirms exactly one goes on), (2) the gateway call, with the
payment's own Idempotency-Key, (3) a short transaction records the outcome. A process that dies
between (2) and (3) leaves the payment ``in_progress``; ``recover_payment`` (a periodic job)
asks the gateway by order id and finishes it the same way."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, NotFound
from app.core.i18n import N_, _
from app.core.labels import label
from app.core.status import Aggregate, Move, columns, created, move, own_history, register, try_move
from app.db import Database, after_commit
from app.drops.stock import pay_right, release_right
from app.models.base import utcnow
from app.models.drops import PurchaseRight, RightStatus, StockReason
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentChange, PaymentStatus
from app.observability.metrics import count_payment, later
from app.orders.rules import PAYABLE
from app.payments.audit import ExchangeLog, audit
from app.payments.policies import current_policy
from app.payments.rules import PAYMENT_STATUS, may_pay_again

if TYPE_CHECKING:
    from app.gateway.client import GatewayClient

log = logging.getLogger(__name__)


# ConfirmOutcome messages are English sentences of the catalog (a confirm's answer is cached, and
# jobs record outcomes too): the page that shows one translates it.
PAID = N_("Paid. Thank you!")


class NotPayable(DomainError):
    """The order cannot be paid any more (deadline passed, given up, paid already)."""


@dataclass(frozen=True)
class ConfirmOutcome:
    state: str  # "paid" | "failed" | "pending" | "refused"
    message: str
    order_id: int
    right_released: tuple[int, int] | None = None  # (product id, member id) whose unit came back


def _audit_move(db: AsyncSession, step: Move[PaymentStatus]) -> None:
    """Every payment step has its line in the payment audit trail."""
    assert step.source is not None
    payment = step.entity
    summary = f"{step.source.value} → {step.target.value}: {step.reason}"
    audit(db, "state", summary, payment_id=payment.id, order_id=payment.order_id)


PAYMENT = register(
    Aggregate(
        "payment",
        Payment,
        PAYMENT_STATUS,
        own_history(PaymentChange.payment_id),
        payload=columns("order_id"),
        after=_audit_move,
    )
)


async def order_is_payable(db: AsyncSession, order: Order) -> str | None:
    """None when the order may be paid now, else the reason it may not."""
    if order.status not in PAYABLE:
        return _("This order is %(state)s; it cannot be paid.", state=label(order.status, "order"))
    if order.pay_by <= utcnow():
        return _("The payment deadline has passed.")
    if order.right_id is not None:
        right = await db.get(PurchaseRight, order.right_id)
        if right is None or right.status is not RightStatus.HELD:
            return _("This purchase right is no longer held.")
    return None


async def start_payment(db: AsyncSession, order: Order) -> Payment:
    """A new payment attempt for the order, with the policy in force copied onto it."""
    if (reason := await order_is_payable(db, order)) is not None:
        raise NotPayable(reason)
    policy = await current_policy(db)
    payment = Payment(
        order_id=order.id,
        gateway_order_id=f"smore-{order.id}-{secrets.token_hex(6)}",
        amount=order.amount,
        status=PaymentStatus.READY,
        policy_id=policy.id,
        fee_basis_points=policy.fee_basis_points,
        refund_tiers=[list(t) for t in policy.refund_tiers],
    )
    db.add(payment)
    await db.flush()
    created(db, payment, reason="checkout")
    audit(db, "state", f"payment of ₩{payment.amount:,} ready for checkout", payment_id=payment.id, order_id=order.id)
    return payment


def checkout_url(gateway_base: str, client_key: str, payment: Payment, order_name: str, site: str) -> str:
    query = {
        "clientKey": client_key,
        "orderId": payment.gateway_order_id,
        "orderName": order_name[:100],
        "amount": str(payment.amount),
        "successUrl": f"{site}/orders/{payment.order_id}/pay/success",
        "failUrl": f"{site}/orders/{payment.order_id}/pay/fail",
    }
    return f"{gateway_base}/checkout?{urlencode(query)}"


class PaymentFlow:
    def __init__(self, database: Database, gateway: GatewayClient, exchanges: ExchangeLog) -> None:
        self.database = database
        self.gateway = gateway
        self.exchanges = exchanges

    async def confirm(
        self, *, order_id: int, member_id: int, payment_key: str, gateway_order_id: str, amount: int
    ) -> ConfirmOutcome:
        from app.gateway.errors import GatewayError, GatewayUnavailable

        claimed = await self._claim(order_id, member_id, payment_key, gateway_order_id, amount)
        if isinstance(claimed, ConfirmOutcome):
            return claimed
        payment_id = claimed
        try:
            paid = await self.gateway.confirm(
                payment_key, gateway_order_id, amount, idempotency_key=f"confirm-{payment_id}"
            )
        except GatewayUnavailable as exc:
            async with self.database.transaction() as db:
                after_commit(db, later(count_payment, "confirm_unanswered"))
                self.exchanges.write(db, payment_id=payment_id, order_id=order_id)
                audit(db, "confirm", f"gateway unavailable: {exc}", payment_id=payment_id, order_id=order_id)
            return ConfirmOutcome(
                "pending",
                N_(
                    "We could not reach the payment gateway yet. We will finish "
                    "this payment as soon as it answers; you will not be charged twice."
                ),
                order_id,
            )
        except GatewayError as exc:
            async with self.database.transaction() as db:
                self.exchanges.write(db, payment_id=payment_id, order_id=order_id)
                return await record_failed(db, payment_id, exc.code, exc.user_message)
        async with self.database.transaction() as db:
            self.exchanges.write(db, payment_id=payment_id, order_id=order_id)
            return await record_done(db, payment_id, method=paid.method, approved_at=paid.approved_at)

    async def _claim(
        self, order_id: int, member_id: int, payment_key: str, gateway_order_id: str, amount: int
    ) -> int | ConfirmOutcome:
        async with self.database.transaction() as db:
            payment, order = await owned_payment(db, order_id, member_id, gateway_order_id)
            if amount != payment.amount or amount != order.amount:
                audit(
                    db,
                    "confirm",
                    f"refused: amount ₩{amount:,} does not match ₩{payment.amount:,}",
                    payment_id=payment.id,
                    order_id=order.id,
                )
                raise DomainError(_("The amount does not match this order. Nothing was charged."))
            if payment.status is not PaymentStatus.READY:
                return outcome_of(payment, order)
            if (reason := await order_is_payable(db, order)) is not None:
                if not await try_move(db, payment, PaymentStatus.CANCELLED, reason=reason):
                    await db.refresh(payment)  # another confirm claimed it first
                    return outcome_of(payment, order)
                return ConfirmOutcome("refused", _("%(reason)s Nothing was charged.", reason=reason), order.id)
            try:
                async with db.begin_nested():
                    moved = await try_move(
                        db, payment, PaymentStatus.IN_PROGRESS, reason="confirming", payment_key=payment_key
                    )
            except IntegrityError as exc:  # this paymentKey already belongs to another payment
                raise DomainError(_("This payment was already used for another order.")) from exc
            if not moved:  # another confirm of the same payment got here first
                await db.refresh(payment)
                return outcome_of(payment, order)
            return payment.id


async def owned_payment(
    db: AsyncSession, order_id: int, member_id: int, gateway_order_id: str
) -> tuple[Payment, Order]:
    """The payment attempt ``gateway_order_id`` of the member's order ``order_id``; anyone else's
    (or a payment of another order) is "not found"."""
    payment = (
        await db.execute(select(Payment).where(Payment.gateway_order_id == gateway_order_id))
    ).scalar_one_or_none()
    order = await db.get(Order, order_id)
    if payment is None or order is None or payment.order_id != order.id or order.member_id != member_id:
        raise NotFound(_("This payment does not exist."))
    return payment, order


def outcome_of(payment: Payment, order: Order) -> ConfirmOutcome:
    """The answer for a confirm that another request (or the recovery job) is handling or handled."""
    if payment.status in (PaymentStatus.DONE, PaymentStatus.PARTIALLY_CANCELLED, PaymentStatus.CANCELLED):
        if order.status is OrderStatus.CANCELLED:
            return ConfirmOutcome("refused", N_("This order was cancelled; the payment is being refunded."), order.id)
        return ConfirmOutcome("paid", PAID, order.id)
    if payment.status is PaymentStatus.FAILED:
        return ConfirmOutcome("failed", payment.failure_message or N_("The payment failed."), order.id)
    return ConfirmOutcome("pending", N_("Your payment is being confirmed."), order.id)


async def _in_progress(db: AsyncSession, payment_id: int) -> tuple[Payment, Order]:
    """A payment and its order, fresh from the database, for recording a gateway outcome."""
    payment = await db.get(Payment, payment_id, populate_existing=True)
    assert payment is not None
    order = await db.get(Order, payment.order_id, populate_existing=True)
    assert order is not None
    return payment, order


async def _settled_now(
    db: AsyncSession, payment: Payment, target: PaymentStatus, reason: str, values: Mapping[str, Any]
) -> bool:
    """Move an in-progress payment to the gateway's answer; False when it was recorded already (a
    retry, the recovery job) or meanwhile by a concurrent confirm (the row is then read again)."""
    if payment.status is not PaymentStatus.IN_PROGRESS:
        return False
    if await try_move(db, payment, target, reason=reason, **values):
        return True
    await db.refresh(payment)
    return False


async def record_done(db: AsyncSession, payment_id: int, *, method: str | None, approved_at: object) -> ConfirmOutcome:
    """The gateway approved: payment done, right paid, order paid. If the order stopped being
    payable meanwhile (its deadline passed during the confirm), the charge is refunded in full."""
    payment, order = await _in_progress(db, payment_id)
    values = {"method": method, "approved_at": approved_at or utcnow()}
    if not await _settled_now(db, payment, PaymentStatus.DONE, "approved by the gateway", values):
        return outcome_of(payment, order)
    right = await pay_right(db, order.right_id) if order.right_id is not None else None
    if order.status in PAYABLE and (order.right_id is None or right is not None):
        await move(db, order, OrderStatus.PAID, reason=f"payment {payment.id} approved")
        after_commit(db, later(count_payment, "approved"))
        return ConfirmOutcome("paid", PAID, order.id)
    after_commit(db, later(count_payment, "approved_too_late"))
    # Charged, but the order is no longer payable: give the money back.
    from app.payments.refunds import reserve_void

    if order.status in PAYABLE:
        await move(db, order, OrderStatus.CANCELLED, reason="the deadline passed while the payment was confirmed")
    await reserve_void(db, payment, reason="the order expired before the payment was confirmed")
    return ConfirmOutcome(
        "refused",
        N_("The payment deadline passed before the payment went through. The charge is being refunded in full."),
        order.id,
    )


async def record_failed(db: AsyncSession, payment_id: int, code: str, message: str) -> ConfirmOutcome:
    """The gateway refused (or never charged): the payment failed. A drop order may be paid again
    until its deadline (its right keeps the unit); otherwise the order fails and the unit goes back.
    The failed attempt lets go of the paymentKey it was confirmed with (the audit trail keeps it):
    a key that is not this payment's, say another shopper's taken from their success URL, stays
    free for the payment it belongs to."""
    payment, order = await _in_progress(db, payment_id)
    values = {"failure_code": code, "failure_message": message, "payment_key": None}
    if not await _settled_now(db, payment, PaymentStatus.FAILED, f"{code}: {message}", values):
        return outcome_of(payment, order)
    released = await _after_failed_attempt(db, order, code, reason=f"payment {payment.id} failed ({code})")
    after_commit(db, later(count_payment, "declined"))
    return ConfirmOutcome("failed", message, order.id, right_released=released)


async def _after_failed_attempt(db: AsyncSession, order: Order, code: str, *, reason: str) -> tuple[int, int] | None:
    """A payment attempt failed. A drop order keeps waiting (its right and unit held) until its
    deadline when paying again can help; otherwise it fails and its unit returns to sale. An order
    without a purchase right (an auction win) fails at once: its unit is offered to the next bidder."""
    if (
        order.right_id is not None
        and order.status in PAYABLE
        and may_pay_again(code, pay_by=order.pay_by, now=utcnow())
    ):
        right = await db.get(PurchaseRight, order.right_id)
        if right is not None and right.status is RightStatus.HELD:
            return None
    return await fail_order(db, order, reason=reason)


async def fail_order(db: AsyncSession, order: Order, *, reason: str) -> tuple[int, int] | None:
    """A payable order fails and its purchase right's unit returns to sale."""
    if order.status in PAYABLE:
        await move(db, order, OrderStatus.FAILED, reason=reason)
    if order.right_id is None:
        return None
    right = await release_right(db, order.right_id, RightStatus.CANCELLED, StockReason.PAYMENT_FAILED)
    return (right.product_id, right.member_id) if right is not None else None


async def fail_checkout(
    db: AsyncSession, order: Order, gateway_order_id: str, code: str, message: str
) -> ConfirmOutcome:
    """The gateway sent the shopper to the fail URL (cancelled in the checkout window, or refused)."""
    payment = (
        await db.execute(select(Payment).where(Payment.gateway_order_id == gateway_order_id))
    ).scalar_one_or_none()
    if payment is None or payment.order_id != order.id:
        raise NotFound(_("This payment does not exist."))
    if payment.status is not PaymentStatus.READY:
        return outcome_of(payment, order)
    if not await try_move(
        db, payment, PaymentStatus.FAILED, reason=f"{code}: {message}", failure_code=code, failure_message=message
    ):
        await db.refresh(payment)  # a confirm claimed it meanwhile: that confirm decides
        return outcome_of(payment, order)
    released = await _after_failed_attempt(db, order, code, reason=f"checkout failed ({code})")
    after_commit(db, later(count_payment, "checkout_failed"))
    return ConfirmOutcome("failed", message, order.id, right_released=released)
