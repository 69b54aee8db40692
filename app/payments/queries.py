"""What the money pages show: every payment (by status), one payment's full trail, a seller's
settlement ledger with its balance, and the queue of refund requests for the seller or an admin.
Reads only, through the request's session."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.queries import product_names
from app.core.errors import NotFound
from app.core.i18n import _
from app.models.members import Member
from app.models.orders import Order
from app.models.payments import (
    Payment,
    PaymentAudit,
    PaymentChange,
    PaymentStatus,
    Refund,
    RefundStatus,
    SettlementEntry,
)
from app.payments.refund_requests import queued
from app.payments.refunds import refunds_of
from app.payments.rules import REFUND_LABELS
from app.payments.settlement import balance
from app.web.pagination import paginate

STATUSES = [s.value for s in PaymentStatus]
Ts = TypeVarTuple("Ts")


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
        raise NotFound(_("This payment does not exist."))
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


QUEUE_STATES = ("waiting", "decided")


def queue_state(show: str | None) -> str:
    """The part of the queue asked for: ``waiting`` unless ``decided`` is named."""
    return show if show in QUEUE_STATES else "waiting"


def queue_statement(stmt: Select[*Ts], seller_id: int | None, chosen: str) -> Select[*Ts]:
    """``stmt`` (over refunds) narrowed to the queue's requests of the seller (every seller's:
    None), those waiting or those decided, joined to their orders."""
    stmt = stmt.join(Order, Order.id == Refund.order_id)
    if seller_id is not None:
        stmt = stmt.where(Order.seller_id == seller_id)
    if chosen == "waiting":
        return stmt.where(Refund.status == RefundStatus.REQUESTED)
    return stmt.where(Refund.decided_at.is_not(None))


async def refund_queue(
    db: AsyncSession, seller_id: int | None, show: str | None, number: int, size: int
) -> dict[str, Any]:
    """Requests for money only, of the seller's orders (every seller's for an admin: None):
    those waiting for a decision, the oldest first, or those decided, the latest first."""
    chosen = queue_state(show)
    stmt = queue_statement(select(Refund), seller_id, chosen)
    if chosen == "waiting":
        stmt = stmt.order_by(Refund.id)
    else:
        stmt = stmt.order_by(Refund.decided_at.desc(), Refund.id.desc())
    listing = await paginate(db, stmt, number, size, {"show": chosen})
    orders = await _orders(db, {r.order_id for r in listing.items})
    names = await product_names(db, [o.product_id for o in orders.values()])
    context = {"page": listing, "show": chosen, "orders": orders, "names": names}
    return context | {"refund_labels": REFUND_LABELS}


async def refund_request_page(db: AsyncSession, refund_id: int, seller_id: int | None) -> dict[str, Any]:
    """One refund with its order, product, payment, shopper and who decided it, for its seller
    (or an admin: None); any other seller's is "not found"."""
    refund, order = await queued(db, refund_id, seller_id)
    people = await _members(db, {order.member_id, refund.decided_by_id})
    return {
        "refund": refund,
        "order": order,
        "payment": await db.get(Payment, refund.payment_id),
        "product_name": (await product_names(db, [order.product_id])).get(order.product_id, ""),
        "shopper": people.get(order.member_id),
        "decider": people.get(refund.decided_by_id),
        "others": [r for r in await refunds_of(db, order.id) if r.id != refund.id],
        "refund_labels": REFUND_LABELS,
    }


async def _orders(db: AsyncSession, ids: set[int]) -> dict[int, Order]:
    if not ids:
        return {}
    return {o.id: o for o in (await db.execute(select(Order).where(Order.id.in_(ids)))).scalars()}


async def _members(db: AsyncSession, ids: set[int | None]) -> dict[int | None, Member]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in (await db.execute(select(Member).where(Member.id.in_(wanted)))).scalars()}
