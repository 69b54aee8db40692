"""What the money pages show: every payment (by status), one payment's full trail, and a
seller's settlement ledger with its balance. Reads only, through the request's session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.models.orders import Order
from app.models.payments import Payment, PaymentAudit, PaymentChange, PaymentStatus, Refund, SettlementEntry
from app.payments.settlement import balance
from app.web.pagination import paginate

STATUSES = [s.value for s in PaymentStatus]


async def payments_page(db: AsyncSession, status: str | None, number: int, size: int) -> dict[str, Any]:
    """Every payment, newest first, of one status if ``status`` names one."""
    stmt = select(Payment).order_by(Payment.id.desc())
    chosen = status if status in STATUSES else ""
    if chosen:
        stmt = stmt.where(Payment.status == PaymentStatus(chosen))
    listing = await paginate(db, stmt, number, size, {"status": chosen})
    return {"page": listing, "statuses": STATUSES, "status": chosen}


async def payment_page(db: AsyncSession, payment_id: int) -> dict[str, Any]:
    """One payment with its order, its audit trail (the order's too), its changes and refunds."""
    payment = await db.get(Payment, payment_id)
    if payment is None:
        raise NotFound("This payment does not exist.")
    of_payment = (PaymentAudit.payment_id == payment.id) | (PaymentAudit.order_id == payment.order_id)
    trail = await db.execute(select(PaymentAudit).where(of_payment).order_by(PaymentAudit.id))
    changes = await db.execute(
        select(PaymentChange).where(PaymentChange.payment_id == payment.id).order_by(PaymentChange.id)
    )
    refunds = await db.execute(select(Refund).where(Refund.payment_id == payment.id))
    return {
        "payment": payment,
        "order": await db.get(Order, payment.order_id),
        "trail": list(trail.scalars()),
        "changes": list(changes.scalars()),
        "refunds": list(refunds.scalars()),
    }


async def settlements_page(db: AsyncSession, seller_id: int, number: int, size: int) -> dict[str, Any]:
    stmt = select(SettlementEntry).where(SettlementEntry.seller_id == seller_id).order_by(SettlementEntry.id.desc())
    return {"page": await paginate(db, stmt, number, size), "balance": await balance(db, seller_id)}
