"""Payments changed at the gateway outside the shop (a cancellation in the gateway's console, or
by anyone holding the secret key): the webhook and the periodic reconcile both look the payment
up at the gateway and record what the shop has not, through the same refund core as the shop's
own refunds (payment, order, stock, settlement reversal, audit).

A look-up runs with no transaction open; the recording is one short transaction that first locks
the payment (a write, so on SQLite the writer's lock), then reads what the shop has recorded and
lets ``rules.outside_cancels`` decide. So the webhook, the reconcile and any redelivery, however
they overlap, record each cancellation once; the unique gateway key of a refund is the last guard.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.gateway.errors import GatewayError
from app.gateway.webhook import STATUS_CHANGED, WebhookEvent
from app.models.base import utcnow
from app.models.orders import Order
from app.models.payments import Payment, Refund, RefundStatus
from app.payments.audit import ExchangeLog, audit
from app.payments.refunds import record_gateway_cancel
from app.payments.rules import REFUNDABLE, GatewayCancelSeen, ShopRefunds, outside_cancels

if TYPE_CHECKING:
    from app.gateway.client import GatewayClient, GatewayPayment
    from app.web.services import Services

log = logging.getLogger(__name__)

# Gateway statuses that may carry a cancellation; a webhook about any other is acknowledged only
# (approvals and refusals are the confirm's and the payments sweep's business).
CANCELLED_AT_GATEWAY = ("CANCELED", "PARTIAL_CANCELED")
KEY_LENGTH = 64


@dataclass(frozen=True)
class Checked:
    state: str  # "recorded" | "unchanged" | "busy" (a refund of the shop's is on its way) | "unknown"
    recorded: int = 0


async def check_payment(database: Database, client: GatewayClient, exchanges: ExchangeLog, payment_key: str) -> Checked:
    """Look the payment up at the gateway and record the cancellations made there. Raises
    ``GatewayError`` when the gateway cannot say (the caller tries again later)."""
    async with database.transaction() as db:
        payment = (await db.execute(select(Payment).where(Payment.payment_key == payment_key))).scalar_one_or_none()
        if payment is None or payment.status not in REFUNDABLE:
            return Checked("unknown")
        payment_id, order_id = payment.id, payment.order_id
    try:
        found = await client.lookup(payment_key)
    except GatewayError:
        async with database.transaction() as db:  # tried: the reconcile's turn passes to the others
            exchanges.write(db, payment_id=payment_id, order_id=order_id)
            await db.execute(update(Payment).where(Payment.id == payment_id).values(checked_at=utcnow()))
        raise
    async with database.transaction() as db:
        exchanges.write(db, payment_id=payment_id, order_id=order_id)
        return await record_outside_changes(db, payment_id, found)


async def record_outside_changes(db: AsyncSession, payment_id: int, found: GatewayPayment) -> Checked:
    """Record, once, the cancellations on the gateway's copy ``found`` the shop has not recorded."""
    await db.execute(  # the lock first: whoever comes second reads what the first recorded
        update(Payment)
        .where(Payment.id == payment_id)
        .values(checked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    payment = await db.get(Payment, payment_id, populate_existing=True)
    assert payment is not None
    order = await db.get(Order, payment.order_id, populate_existing=True)
    assert order is not None
    if payment.status not in REFUNDABLE:
        return Checked("unchanged")
    if found.order_id != payment.gateway_order_id or found.total_amount != payment.amount:
        audit(db, "gateway.mismatch", "the gateway's copy is another payment: nothing recorded", payment_id=payment.id)
        return Checked("unchanged")
    refunds = (
        await db.execute(
            select(Refund.gateway_transaction_key, Refund.amount, Refund.status).where(Refund.payment_id == payment.id)
        )
    ).all()
    shop = ShopRefunds(
        paid=payment.amount,
        refunded=payment.refunded_amount,
        reserved=payment.refund_reserved,
        units_left=order.quantity - order.refunded_quantity,
        known_keys=frozenset(key for key, _, _ in refunds if key),
        keyless_amounts=tuple(amount for key, amount, status in refunds if not key and status is RefundStatus.DONE),
    )
    seen = [GatewayCancelSeen(c.transaction_key[:KEY_LENGTH], c.amount, c.reason) for c in found.cancels]
    decided = outside_cancels(seen, shop)
    for decision in decided:
        cancel = decision.seen
        refund = await record_gateway_cancel(
            db,
            order,
            payment,
            amount=cancel.amount,
            quantity=decision.quantity,
            reason=f"Cancelled at the payment gateway: {cancel.reason or 'no reason given'}",
            transaction_key=cancel.transaction_key,
        )
        summary = (
            f"₩{cancel.amount:,} cancelled at the gateway outside the shop (transaction "
            f"{cancel.transaction_key}): recorded as refund {refund.id}, {decision.quantity} unit(s) back"
        )
        audit(db, "gateway.outside", summary, payment_id=payment.id, order_id=order.id)
    if decided:
        return Checked("recorded", len(decided))
    return Checked("busy" if shop.reserved else "unchanged")


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, object]


async def on_webhook(services: Services, event: WebhookEvent) -> WebhookAnswer:
    """A verified webhook: a payment cancelled (wholly or partly) is looked up and recorded; any
    other event is acknowledged. 503 when the gateway cannot be asked, so it sends it again."""
    if event.event_type != STATUS_CHANGED or event.payment_key is None or event.status not in CANCELLED_AT_GATEWAY:
        return WebhookAnswer(200, {"result": "ignored"})
    exchanges = ExchangeLog()
    client = services.gateway(exchanges)
    try:
        checked = await check_payment(services.database, client, exchanges, event.payment_key)
    except GatewayError as exc:
        log.warning("webhook for a payment: the gateway did not answer its look-up (%s)", exc)
        return WebhookAnswer(503, {"code": "LOOKUP_FAILED", "message": "Try again later."})
    finally:
        await client.aclose()
    return WebhookAnswer(200, {"result": checked.state, "recorded": checked.recorded})


async def reconcile_recent(
    database: Database,
    client_for: Callable[[ExchangeLog], GatewayClient],
    *,
    days: float,
    batch: int,
    now: datetime | None = None,
) -> Counter[str]:
    """Look up up to ``batch`` payments made in the last ``days`` days, those checked longest ago
    first, and record the cancellations made at the gateway. Returns how many ended how."""
    since = (now or utcnow()) - timedelta(days=days)
    async with database.transaction() as db:
        keys = list(
            (
                await db.execute(
                    select(Payment.payment_key)
                    .where(
                        Payment.status.in_(REFUNDABLE), Payment.approved_at >= since, Payment.payment_key.is_not(None)
                    )
                    .order_by(Payment.checked_at.asc().nulls_first(), Payment.id)
                    .limit(batch)
                )
            ).scalars()
        )
    counts: Counter[str] = Counter()
    exchanges = ExchangeLog()
    client = client_for(exchanges)
    try:
        for key in keys:
            assert key is not None
            try:
                counts[(await check_payment(database, client, exchanges, key)).state] += 1
            except GatewayError as exc:
                counts["unanswered"] += 1
                log.warning("reconcile: the gateway did not answer for a payment (%s); next sweep", exc)
    finally:
        await client.aclose()
    return counts
