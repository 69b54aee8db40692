"""Requests for money only: the shopper keeps the units and asks for part of what was paid (a
dented box, a missing part). No policy computes such an amount, so it is the seller's or an
admin's decision: the request waits (``requested``, nothing reserved yet) in the queues of
``/seller/refunds`` and ``/admin/refunds``. Approved, its amount is reserved against the payment
under the payment's lock exactly as a return of units is, and the move to ``reserved`` sends it to
the gateway; rejected, it ends with the decider's reason, which the shopper reads on the order."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, FormInvalid, NotFound
from app.core.i18n import _
from app.core.labels import label
from app.core.status import created, move
from app.core.text import length_error
from app.db import after_commit
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.members import Member
from app.models.orders import Order
from app.models.payments import Payment, Refund, RefundStatus
from app.observability.metrics import count_refund, later
from app.payments.audit import audit
from app.payments.refunds import hold, lock_left, new_refund, refundable_payment, waiting_request
from app.payments.rules import RefundRefused, check_money_request, refund_rate

REASON_LENGTH = 300


async def request_money(db: AsyncSession, order: Order, *, amount: int, reason: str, actor_id: int) -> Refund:
    """Ask for ``amount`` without returning a unit: a request for the seller, nothing reserved;
    or ``RefundRefused`` (field, message). One request waits per order at a time."""
    if not reason.strip():
        raise RefundRefused("reason", _("Tell the seller why you ask for money back."))
    payment = await refundable_payment(db, order, "amount")
    assert payment.approved_at is not None
    money_left, _units = await lock_left(db, order, payment)  # requests for one order queue here
    check_money_request(
        money_left=money_left,
        rate=refund_rate(payment.refund_tiers, payment.approved_at, utcnow()),
        amount=amount,
        waiting=await waiting_request(db, order.id) is not None,
    )
    refund = new_refund(order, payment, amount, 0, reason.strip(), actor_id, RefundStatus.REQUESTED)
    db.add(refund)
    await db.flush()
    created(db, refund, reason=refund.reason)
    summary = f"refund {refund.id} of ₩{amount:,} asked for without a return, for the seller to decide: {refund.reason}"
    audit(db, "refund", summary[:300], payment_id=payment.id, order_id=order.id)
    touch_after_commit(db, "seller", order.seller_id)  # one more request waits on the dashboard
    return refund


async def queued(db: AsyncSession, refund_id: int, seller_id: int | None) -> tuple[Refund, Order]:
    """A refund and its order, for its seller (``seller_id``) or an admin (None); any other
    seller's refund is "not found"."""
    refund = await db.get(Refund, refund_id)
    order = await db.get(Order, refund.order_id) if refund is not None else None
    if refund is None or order is None or (seller_id is not None and order.seller_id != seller_id):
        raise NotFound(_("This refund does not exist."))
    return refund, order


def _still_waiting(refund: Refund) -> None:
    if refund.status is not RefundStatus.REQUESTED:
        raise DomainError(_("This request was decided already: it is %(state)s.", state=label(refund.status, "refund")))


async def approve(db: AsyncSession, refund_id: int, decider: Member, seller_id: int | None) -> Refund:
    """Reserve the requested amount against the payment (under its lock) and send it to the
    gateway (the move to ``reserved`` publishes ``refund.reserved``); a ``DomainError`` when it was
    decided already or no longer fits in what is left, and then nothing is written."""
    refund, order = await queued(db, refund_id, seller_id)
    payment = await db.get(Payment, refund.payment_id)
    assert payment is not None
    async with db.begin_nested():  # a refusal undoes the attempt (the answer is a redirect, which commits)
        money_left, _units = await lock_left(db, order, payment)  # decisions on one order queue here
        await db.refresh(refund)
        _still_waiting(refund)
        try:
            await hold(db, order, payment, refund.amount, 0)
        except RefundRefused:
            raise DomainError(
                _(
                    "Only %(amount)s is left to refund on this order now: "
                    "reject this request (the shopper may ask again).",
                    amount=f"₩{max(money_left, 0):,}",
                )
            ) from None
        await move(db, refund, RefundStatus.RESERVED, reason=f"approved by {decider.display_name}", actor=decider)
        audit(
            db,
            "refund",
            f"refund {refund.id} of ₩{refund.amount:,} approved by member {decider.id}",
            payment_id=payment.id,
            order_id=order.id,
        )
    touch_after_commit(db, "seller", order.seller_id)  # one request fewer waits on the dashboard
    after_commit(db, later(count_refund, "reserved"))
    return refund


async def reject(db: AsyncSession, refund_id: int, decider: Member, seller_id: int | None, reason: str) -> Refund:
    """End the request with the decider's reason (the shopper reads it); nothing was reserved."""
    refund, order = await queued(db, refund_id, seller_id)
    _still_waiting(refund)
    reason = reason.strip()
    blank = _("Tell the shopper why the request is declined.")
    if (problem := length_error(reason, REASON_LENGTH, blank=blank, what=_("A reason"))) is not None:
        raise FormInvalid({"reason": problem})
    declined = f"declined by {decider.display_name}: {reason}"
    await move(db, refund, RefundStatus.REJECTED, reason=declined, actor=decider, decision_reason=reason)
    audit(
        db,
        "refund",
        f"refund {refund.id} declined by member {decider.id}: {reason}"[:300],
        payment_id=refund.payment_id,
        order_id=order.id,
    )
    touch_after_commit(db, "seller", order.seller_id)
    return refund
