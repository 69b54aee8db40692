"""Reading the shop's CSV downloads as a spreadsheet would, a seller's orders written straight to
the database (any state, any creation time) for the tests of the orders page and its CSV, and
watching how a download is sent (its body messages, the sessions that read for it)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models.catalog import ProductStatus
from app.models.members import Member, MemberRole
from app.models.orders import Order, OrderSource, OrderStatus


def csv_rows(response: Any) -> list[list[str]]:
    """The rows of a CSV answer (its header first); it must begin with the UTF-8 byte-order mark."""
    body: bytes = response.content
    assert body.startswith(codecs.BOM_UTF8), body[:20]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def assert_csv_download(response: Any, name: str) -> list[list[str]]:
    """A 200 CSV download whose file is named ``smore-{name}-YYYY-MM-DD.csv``: its rows."""
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="smore-{re.escape(name)}-\d{{4}}-\d{{2}}-\d{{2}}\.csv"', disposition)
    return csv_rows(response)


def first_column(rows: list[list[str]]) -> list[str]:
    """The first cell of every row but the header (the ids, in the file's order)."""
    return [row[0] for row in rows[1:]]


@dataclass(frozen=True)
class SellerOrders:
    seller: Member
    other_seller: Member
    shopper: Member
    figure_id: int  # the seller's products
    print_id: int
    other_product_id: int  # the other seller's
    orders: dict[str, int]  # name → order id


async def seller_orders(app: Any, members: Any, products: Any, *, shopper_name: str = "Ana Kim") -> SellerOrders:
    """A seller with two products and five orders of them in several states and days, and another
    seller with an order of their own product.

    ``paid_late``: paid, created 2026-03-10 23:30 in Seoul (14:30 UTC, still the 10th in UTC);
    ``awaiting``: created 2026-03-11 00:30 in Seoul (the 10th in UTC); ``refunded``: the 12th;
    ``print_paid``: the print, the 12th; ``cancelled``: the 13th; ``other``: the other seller's."""
    seller = await members.create(role=MemberRole.SELLER, display_name="Studio Seoul")
    other_seller = await members.create(role=MemberRole.SELLER, display_name="Other Studio")
    shopper = await members.create("ana.shopper@example.test", display_name=shopper_name)
    figure = await products.create(seller, name="Limited figure", status=ProductStatus.ON_SALE)
    print_ = await products.create(seller, name="Signed print", status=ProductStatus.ON_SALE)
    other = await products.create(other_seller, name="Someone else's vase", status=ProductStatus.ON_SALE)
    utc = datetime.fromisoformat
    plan = {
        "paid_late": (figure.id, OrderStatus.PAID, utc("2026-03-10T14:30:00+00:00"), 2),
        "awaiting": (figure.id, OrderStatus.AWAITING_PAYMENT, utc("2026-03-10T15:30:00+00:00"), 1),
        "refunded": (figure.id, OrderStatus.REFUNDED, utc("2026-03-12T03:00:00+00:00"), 1),
        "print_paid": (print_.id, OrderStatus.PAID, utc("2026-03-12T04:00:00+00:00"), 1),
        "cancelled": (figure.id, OrderStatus.CANCELLED, utc("2026-03-13T05:00:00+00:00"), 1),
        "other": (other.id, OrderStatus.PAID, utc("2026-03-12T06:00:00+00:00"), 1),
    }
    ids = {}
    async with app.state.database.transaction() as db:
        for name, (product_id, status, created, quantity) in plan.items():
            owner = other_seller if product_id == other.id else seller
            order = new_order(shopper.id, owner.id, product_id, status, created, quantity)
            db.add(order)
            await db.flush()
            ids[name] = order.id
    return SellerOrders(seller, other_seller, shopper, figure.id, print_.id, other.id, ids)


def new_order(
    shopper_id: int, seller_id: int, product_id: int, status: OrderStatus, created: datetime, quantity: int = 1
) -> Order:
    """An order of ``quantity`` units at ₩12,000 (paid three minutes after ``created`` if its state says so)."""
    paid = status in (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)
    return Order(
        member_id=shopper_id,
        seller_id=seller_id,
        product_id=product_id,
        source=OrderSource.DROP,
        quantity=quantity,
        unit_price=12_000,
        amount=12_000 * quantity,
        status=status,
        pay_by=created + timedelta(minutes=10),
        paid_at=created + timedelta(minutes=3) if paid else None,
        created_at=created,
    )


async def more_orders(app: Any, world: SellerOrders, count: int) -> list[int]:
    """``count`` more paid orders of the seller's figure, a minute apart after the others: their ids."""
    start = datetime.fromisoformat("2026-03-14T00:00:00+00:00")
    async with app.state.database.transaction() as db:
        orders = [
            new_order(
                world.shopper.id, world.seller.id, world.figure_id, OrderStatus.PAID, start + timedelta(minutes=i)
            )
            for i in range(count)
        ]
        db.add_all(orders)
        await db.flush()
        return [order.id for order in orders]


class LedgerReads:
    """Watches the sessions that read the stock ledger while a download is sent: the order in which
    they first read it, and which of them still has a transaction open (a session that read and
    ended, committed or rolled back, is no longer open)."""

    def __init__(self) -> None:
        self.readers: list[int] = []
        self.open: set[int] = set()

    def _executed(self, state: Any) -> None:
        if "stock_ledger" in str(state.statement):
            key = id(state.session)
            if key not in self.readers:
                self.readers.append(key)
            self.open.add(key)

    def _ended(self, session: Any, transaction: Any) -> None:
        if transaction.parent is None:
            self.open.discard(id(session))

    def __enter__(self) -> LedgerReads:
        event.listen(Session, "do_orm_execute", self._executed)
        event.listen(Session, "after_transaction_end", self._ended)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Session, "do_orm_execute", self._executed)
        event.remove(Session, "after_transaction_end", self._ended)


@contextmanager
def body_messages(client: Any, reads: LedgerReads) -> Iterator[list[tuple[int, int]]]:
    """While inside, every ``http.response.body`` message the app sends through ``client``: (its
    length, how many ledger-reading sessions were open as it left)."""
    inner = client.app
    sent: list[tuple[int, int]] = []

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                sent.append((len(message.get("body", b"")), len(reads.open)))
            await send(message)

        await inner(scope, receive, recording_send)

    client.app = recording_app
    try:
        yield sent
    finally:
        client.app = inner
