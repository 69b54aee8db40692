"""What the seller's orders page (``/seller/orders``) and its CSV show: the orders of the seller's
own products, newest first, filtered by state, product and days. The shopper appears by display
name only (never the email). Reads only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.models.catalog import Product
from app.models.members import Member
from app.models.orders import Order, OrderStatus
from app.orders.filters import OrderFilters, read_filters
from app.orders.rules import LABELS
from app.web.csv_export import CsvExport, Label, Row, zoned
from app.web.pagination import Page

STATES = list(OrderStatus)


async def seller_products(db: AsyncSession, seller_id: int) -> list[tuple[int, str]]:
    """The seller's products (id, name), newest first: the choices of the product filter."""
    rows = await db.execute(
        select(Product.id, Product.name).where(Product.seller_id == seller_id).order_by(Product.id.desc())
    )
    return [(product_id, name) for product_id, name in rows]


async def seller_filters(db: AsyncSession, seller_id: int, raw: Mapping[str, str | None]) -> OrderFilters:
    """The filters asked for, checked against the seller's own products."""
    products = await seller_products(db, seller_id)
    return read_filters(raw, {product_id for product_id, _name in products})


def _orders(seller_id: int, filters: OrderFilters) -> Select[Order, str, str]:
    """The seller's orders with their product's name and shopper's display name, as filtered."""
    stmt = (
        select(Order, Product.name, Member.display_name)
        .join(Product, Product.id == Order.product_id)
        .join(Member, Member.id == Order.member_id)
        .where(Order.seller_id == seller_id)
    )
    if filters.state is not None:
        stmt = stmt.where(Order.status == filters.state)
    if filters.product_id is not None:
        stmt = stmt.where(Order.product_id == filters.product_id)
    if filters.since is not None:
        stmt = stmt.where(Order.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Order.created_at < filters.until)
    return stmt


async def seller_orders_page(
    db: AsyncSession, seller_id: int, raw: Mapping[str, str | None], number: int, size: int
) -> dict[str, Any]:
    """The page's context; refused filters are in ``errors`` (and no list: ``page`` is None)."""
    products = await seller_products(db, seller_id)
    filters = read_filters(raw, {product_id for product_id, _name in products})
    context: dict[str, Any] = {
        "values": filters.values,
        "errors": filters.errors,
        "filtered": filters.active,
        "products": products,
        "states": STATES,
        "labels": LABELS,
        "page": None,
    }
    if filters.errors:
        return context
    stmt = _orders(seller_id, filters)
    total = await db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = (await db.execute(stmt.order_by(Order.id.desc()).limit(size).offset((number - 1) * size))).all()
    items = [(order, product, shopper) for order, product, shopper in rows]
    context["page"] = Page(items=items, number=number, size=size, total=int(total), params=filters.values)
    return context


def orders_export(seller_id: int, filters: OrderFilters) -> CsvExport:
    """The seller's orders as filtered, as a CSV download (newest first, like the page)."""

    async def read(db: AsyncSession, after: int | None, size: int) -> tuple[list[Row], int | None]:
        stmt = _orders(seller_id, filters)
        if after is not None:
            stmt = stmt.where(Order.id < after)
        found = (await db.execute(stmt.order_by(Order.id.desc()).limit(size))).all()
        rows: list[Row] = [
            (
                order.id,
                product,
                shopper,
                order.quantity,
                order.amount,
                Label(order.status, "order"),
                order.created_at,
                order.paid_at,
            )
            for order, product, shopper in found
        ]
        return rows, found[-1][0].id if found else None

    def header() -> list[str]:
        return [
            _("Order"),
            _("Product"),
            _("Shopper"),
            _("Quantity"),
            _("Amount (KRW)"),
            _("State"),
            zoned(_("Created at")),
            zoned(_("Paid at")),
        ]

    return CsvExport("orders", header, read)
