"""The downloads' keyset reading: read a few rows at a time, every export gives the same rows in
the same order as when read in one go (no row twice, none missed), ties in the decided-refunds
order included, and each chunk after the last one the previous chunk gave."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.admin.member_service import members_export
from app.drops.ledger import ledger_export
from app.models.catalog import Product
from app.models.payments import Refund, RefundStatus
from app.orders.filters import OrderFilters
from app.orders.seller_queries import orders_export
from app.payments.exports import payments_export, refund_requests_export, settlements_export
from app.payments.settlement import settle_payment
from app.web.csv_export import CsvExport, read_chunks
from tests.helpers.exports import more_orders, seller_orders
from tests.helpers.orders import paid_order


async def every_row(app, export: CsvExport, size: int) -> tuple[list[tuple], list[int]]:
    """All the rows, and the size of each chunk they came in."""
    rows, sizes = [], []
    async for chunk in read_chunks(app.state.database, export.read, size):
        rows += [tuple(row) for row in chunk]
        sizes.append(len(chunk))
    return rows, sizes


async def same_in_chunks(app, export: CsvExport, size: int, expected: int) -> list[tuple]:
    whole, sizes = await every_row(app, export, 10_000)
    assert len(whole) == expected and sizes == [expected]
    chunked, sizes = await every_row(app, export, size)
    assert chunked == whole
    assert sizes[:-1] == [size] * (len(sizes) - 1) and 0 < sizes[-1] <= size
    return whole


async def test_orders_members_payments_and_settlements_read_in_chunks(app, members, products):
    world = await seller_orders(app, members, products)
    await more_orders(app, world, 4)
    orders = await same_in_chunks(app, orders_export(world.seller.id, OrderFilters()), 3, 9)
    assert [row[0] for row in orders] == sorted((row[0] for row in orders), reverse=True)
    assert len(await same_in_chunks(app, members_export("", None), 2, 3)) == 3
    order, payment = await paid_order(app, members, products)
    _, other = await paid_order(app, members, products)
    await same_in_chunks(app, payments_export(None), 1, 2)
    async with app.state.database.transaction() as db:
        await settle_payment(db, payment.id)
        await settle_payment(db, other.id)
    entries = await same_in_chunks(app, settlements_export(order.seller_id), 1, 1)
    assert entries[0][2] == order.id
    async with app.state.database.transaction() as db:
        product = await db.get(Product, order.product_id)
    ledger = await same_in_chunks(app, ledger_export(product), 1, 2)
    assert [row[6] for row in ledger] == [2, 3]  # each balance right in a chunk of its own


async def test_decided_refunds_with_the_same_decision_time_read_in_chunks(app, members, products):
    order, payment = await paid_order(app, members, products)
    same_moment = datetime.fromisoformat("2026-03-12T04:00:00+00:00")
    later = datetime.fromisoformat("2026-03-12T05:00:00+00:00")
    async with app.state.database.transaction() as db:
        refunds = [
            Refund(
                order_id=order.id,
                payment_id=payment.id,
                amount=100,
                reason=f"reason {i}",
                status=RefundStatus.REJECTED,
                idempotency_key=uuid.uuid4().hex,
                decided_at=later if i == 2 else same_moment,
                decision_reason="no",
            )
            for i in range(5)
        ]
        db.add_all(refunds)
        await db.flush()
        ids = [refund.id for refund in refunds]
    decided = await same_in_chunks(app, refund_requests_export(None, "decided"), 2, 5)
    # the latest decision first, then by id, newest first
    assert [row[0] for row in decided] == [ids[2], ids[4], ids[3], ids[1], ids[0]]
    assert await same_in_chunks(app, refund_requests_export(order.seller_id, "decided"), 3, 5) == decided
    assert await every_row(app, refund_requests_export(order.seller_id + 10_000, "decided"), 2) == ([], [])
