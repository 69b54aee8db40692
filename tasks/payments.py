"""Payment jobs: send a reserved refund to the gateway (retried with backoff; the refund's own
Idempotency-Key makes every retry and redelivery harmless), the safety sweeps that finish
what a killed process left half done (payments being confirmed, refunds still reserved), and the
reconcile that finds payments cancelled at the gateway outside the shop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import utcnow
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus
from app.payments.audit import ExchangeLog
from app.payments.refunds import complete_refund, complete_settled_orders, release_refund
from app.payments.service import record_done, record_failed
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)

Row = TypeVar("Row", Payment, Refund)


@asynccontextmanager
async def gateway() -> AsyncIterator[tuple[Any, ExchangeLog]]:
    """A gateway client with the log of its exchanges; the client is closed on the way out."""
    from app.gateway.client import make_gateway_client

    exchanges = ExchangeLog()
    client = make_gateway_client(runtime.settings(), transport=runtime.gateway_transport(), on_exchange=exchanges)
    try:
        yield client, exchanges
    finally:
        await client.aclose()


async def _unsettled(db: AsyncSession, model: type[Row], row_id: int, status: Enum) -> Row | None:
    """The row while it is still in ``status`` (None once it is gone or settled)."""
    row = await db.get(model, row_id)
    return row if row is not None and row.status is status else None


async def refund_now(refund_id: int) -> str:
    """One attempt: "done", "failed", "settled" (nothing to do) — or raises to be retried."""
    from app.gateway.errors import GatewayError, GatewayTimeout, GatewayUnavailable

    database = runtime.database()
    async with database.transaction() as db:
        if (refund := await _unsettled(db, Refund, refund_id, RefundStatus.RESERVED)) is None:
            return "settled"
        payment = await db.get(Payment, refund.payment_id)
        assert payment is not None and payment.payment_key is not None
        key, amount, whole = refund.idempotency_key, refund.amount, refund.amount == payment.amount
        payment_key, reason, order_id = payment.payment_key, refund.reason, refund.order_id
    async with gateway() as (client, exchanges):
        try:
            cancelled = await client.cancel(payment_key, reason, amount=None if whole else amount, idempotency_key=key)
        except (GatewayTimeout, GatewayUnavailable):
            async with database.transaction() as db:
                exchanges.write(db, payment_id=refund.payment_id, order_id=order_id)
            raise  # Dramatiq retries with backoff, with the same key
        except GatewayError as exc:
            async with database.transaction() as db:
                exchanges.write(db, payment_id=refund.payment_id, order_id=order_id)
                await release_refund(db, refund_id, exc.user_message)
            return "failed"
    async with database.transaction() as db:
        exchanges.write(db, payment_id=refund.payment_id, order_id=order_id)
        # the newest cancellation in the answer is this one (a replayed key gets the same answer)
        done = cancelled.cancels[-1].transaction_key if cancelled.cancels else None
        await complete_refund(db, refund_id, transaction_key=done or None)
    return "done"


@actor(queue_name="payments", max_retries=10, min_backoff=1_000, max_backoff=300_000)
async def perform_refund(refund_id: int) -> None:
    await refund_now(refund_id)


async def recover(payment_id: int) -> str:
    """Finish a payment left ``in_progress``: ask the gateway by order id and record what it says."""
    from app.gateway.errors import GatewayError

    database = runtime.database()
    async with database.transaction() as db:
        if (payment := await _unsettled(db, Payment, payment_id, PaymentStatus.IN_PROGRESS)) is None:
            return "settled"
        gateway_order_id, order_id = payment.gateway_order_id, payment.order_id
    async with gateway() as (client, exchanges):
        try:
            found = await client.lookup_by_order(gateway_order_id)
        except GatewayError as exc:
            if exc.code != "NOT_FOUND_PAYMENT":
                raise
            found = None
    async with database.transaction() as db:
        exchanges.write(db, payment_id=payment_id, order_id=order_id)
        if found is not None and found.status in ("DONE", "PARTIAL_CANCELED", "CANCELED"):
            await record_done(db, payment_id, method=found.method, approved_at=found.approved_at)
            return "done"
        await record_failed(db, payment_id, "NOT_APPROVED", "The payment was not approved. You were not charged.")
        return "failed"


@actor(queue_name="payments", max_retries=0)
async def sweep_payments() -> None:
    """Payments stuck in confirmation and refunds stuck reserved (their process died)."""
    cutoff = utcnow() - timedelta(seconds=runtime.settings().payment_stale_seconds)
    async with runtime.database().transaction() as db:
        stuck = list(
            (
                await db.execute(
                    select(Payment.id).where(Payment.status == PaymentStatus.IN_PROGRESS, Payment.updated_at < cutoff)
                )
            ).scalars()
        )
        reserved = list(
            (
                await db.execute(
                    select(Refund.id).where(
                        Refund.status == RefundStatus.RESERVED,
                        func.coalesce(Refund.decided_at, Refund.created_at) < cutoff,  # approved requests: since then
                    )
                )
            ).scalars()
        )
    for payment_id in stuck:
        try:
            log.info("recovering payment %s: %s", payment_id, await recover(payment_id))
        except Exception:
            log.warning("payment %s: the gateway did not answer; next sweep", payment_id, exc_info=True)
    for refund_id in reserved:
        perform_refund.send(refund_id)
    async with runtime.database().transaction() as db:
        await complete_settled_orders(db)


@actor(queue_name="payments", max_retries=0)
async def reconcile_payments() -> None:
    """Recent payments looked up at the gateway: cancellations made there are recorded once."""
    from app.gateway.client import make_gateway_client
    from app.payments.gateway_changes import reconcile_recent

    settings = runtime.settings()

    def client_for(exchanges: ExchangeLog) -> Any:
        return make_gateway_client(settings, transport=runtime.gateway_transport(), on_exchange=exchanges)

    counts = await reconcile_recent(
        runtime.database(), client_for, days=settings.payment_reconcile_days, batch=settings.payment_reconcile_batch
    )
    if counts["recorded"] or counts["unanswered"]:
        log.info("payments reconciled with the gateway: %s", dict(counts))


__all__ = ["perform_refund", "reconcile_payments", "recover", "refund_now", "sweep_payments"]
