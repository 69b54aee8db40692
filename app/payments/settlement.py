"""The seller settlement ledger: each done payment adds amount − fee, each refund the opposite.
Written by event handlers; the unique key makes a redelivered event write nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.orders import Order
from app.models.payments import Payment, Refund, SettlementEntry
from app.payments.rules import fee_for


async def _add(db: AsyncSession, entry: SettlementEntry) -> bool:
    try:
        async with db.begin_nested():
            db.add(entry)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def settle_payment(db: AsyncSession, payment_id: int) -> bool:
    payment = await db.get(Payment, payment_id)
    if payment is None:
        return False
    order = await db.get(Order, payment.order_id)
    assert order is not None
    fee = fee_for(payment.amount, payment.fee_basis_points)
    return await _add(
        db,
        SettlementEntry(
            seller_id=order.seller_id,
            order_id=order.id,
            payment_id=payment.id,
            gross=payment.amount,
            fee=fee,
            net=payment.amount - fee,
            unique_key=f"sale:payment:{payment.id}",
        ),
    )


async def settle_refund(db: AsyncSession, refund_id: int) -> bool:
    refund = await db.get(Refund, refund_id)
    if refund is None:
        return False
    payment = await db.get(Payment, refund.payment_id)
    order = await db.get(Order, refund.order_id)
    assert payment is not None and order is not None
    fee = fee_for(-refund.amount, payment.fee_basis_points)  # the fee on the refunded part is given back
    return await _add(
        db,
        SettlementEntry(
            seller_id=order.seller_id,
            order_id=order.id,
            payment_id=payment.id,
            refund_id=refund.id,
            gross=-refund.amount,
            fee=fee,
            net=-refund.amount - fee,
            unique_key=f"refund:refund:{refund.id}",
        ),
    )


async def balance(db: AsyncSession, seller_id: int) -> int:
    return int(
        await db.scalar(
            select(func.coalesce(func.sum(SettlementEntry.net), 0)).where(SettlementEntry.seller_id == seller_id)
        )
        or 0
    )
