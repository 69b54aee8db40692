"""What the order pages show: the member's orders, and one order with its timeline, payments and
refunds. Reads only, through the request's session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.queries import product_names
from app.models.catalog import Product
from app.models.orders import Order
from app.models.payments import Payment
from app.orders.rules import LABELS, PAYABLE
from app.orders.service import member_order, timeline
from app.payments.refunds import refund_view, refunds_of
from app.payments.rules import REFUND_LABELS
from app.web.pagination import paginate


async def my_orders(db: AsyncSession, member_id: int, number: int, size: int) -> dict[str, Any]:
    stmt = select(Order).where(Order.member_id == member_id).order_by(Order.id.desc())
    orders = await paginate(db, stmt, number, size)
    names = await product_names(db, [o.product_id for o in orders.items])
    return {"page": orders, "names": names, "labels": LABELS}


async def order_page(db: AsyncSession, order_id: int, member_id: int) -> dict[str, Any]:
    """The member's own order with all it shows; anyone else's is "not found"."""
    return await detail_context(db, await member_order(db, order_id, member_id))


async def detail_context(db: AsyncSession, order: Order) -> dict[str, Any]:
    payments = await db.execute(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))
    return {
        "order": order,
        "product": await db.get(Product, order.product_id),
        "changes": await timeline(db, order.id),
        "payments": list(payments.scalars()),
        "refunds": await refunds_of(db, order.id),
        "refundable": await refund_view(db, order),
        "payable": order.status in PAYABLE,
        "labels": LABELS,
        "refund_labels": REFUND_LABELS,
    }
