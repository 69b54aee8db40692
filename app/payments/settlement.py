"""The seller settlement ledger: each done payment adds amount − fee, each refund the opposite.
Written by event handlers; the unique key makes a redelivered event write nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import add_once
from app.live.hub import touch_after_commit
from app.models.orders import Order
from app.models.payments import Payment, Refund, SettlementEntry
from app.payments.rules import fee_for


async def _add(
    db: AsyncSession, order: Order, payment: Payment, gross: int, key: str, refund_id: int | None = None
) -> bool:
    """One entry of ``gross`` less its fee; False when an entry with this key exists (a redelivery)."""
    fee = fee_for(gross, payment.fee_basis_points)  # on a refund (gross < 0) the fee is given back
    entry = SettlementEntry(
        seller_id=order.seller_id,
        order_id=order.id,
        payment_id=payment.id,
        refund_id=refund_id,
        gross=gross,
        fee=fee,
        net=gross - fee,
        unique_key=key,
    )
    added = await add_once(db, entry)
    if added:  # the seller's dashboard shows the new revenue and balance
        touch_after_commit(db, "seller", order.seller_id)
    return added


async def settle_payment(db: AsyncSession, payment_id: int) -> bool:
    payment = await db.get(Payment, payment_id)
    if payment is None:
        return False
    order = await db.get(Order, payment.order_id)
    assert order is not None
    return await _add(db, order, payment, payment.amount, f"sale:payment:{payment.id}")


async def settle_refund(db: AsyncSession, refund_id: int) -> bool:
    refund = await db.get(Refund, refund_id)
    if refund is None:
        return False
    payment = await db.get(Payment, refund.payment_id)
    order = await db.get(Order, refund.order_id)
    assert payment is not None and order is not None
    return await _add(db, order, payment, -refund.amount, f"refund:refund:{refund.id}", refund_id=refund.id)


async def balance(db: AsyncSession, seller_id: int) -> int:
    return int(
        await db.scalar(
            select(func.coalesce(func.sum(SettlementEntry.net), 0)).where(SettlementEntry.seller_id == seller_id)
        )
        or 0
    )
