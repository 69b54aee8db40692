"""The money lists as CSV downloads, with the filters of their pages: every payment (by state) for
an admin, a seller's settlement ledger, and the queue of refund requests (a seller's own, or every
seller's for an admin). Each reads a chunk of rows after the last one it gave (keyset), in the order
its page lists them. Reads only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.models.catalog import Product
from app.models.orders import Order
from app.models.payments import Payment, PaymentStatus, Refund, SettlementEntry
from app.payments.queries import STATUSES, queue_state, queue_statement
from app.web.csv_export import CsvExport, Label, Row, zoned


def payments_export(status: str | None) -> CsvExport:
    """Every payment, newest first, of one state if ``status`` names one (anything else: all)."""
    chosen = PaymentStatus(status) if status in STATUSES else None

    async def read(db: AsyncSession, after: int | None, size: int) -> tuple[list[Row], int | None]:
        stmt = select(Payment).order_by(Payment.id.desc()).limit(size)
        if chosen is not None:
            stmt = stmt.where(Payment.status == chosen)
        if after is not None:
            stmt = stmt.where(Payment.id < after)
        found = list((await db.execute(stmt)).scalars())
        rows: list[Row] = [
            (
                p.id,
                p.order_id,
                p.amount,
                p.refunded_amount,
                Label(p.status, "payment"),
                p.method,
                p.created_at,
                p.approved_at,
            )
            for p in found
        ]
        return rows, found[-1].id if found else None

    def header() -> list[str]:
        return [
            _("Payment"),
            _("Order"),
            _("Amount (KRW)"),
            _("Refunded (KRW)"),
            _("State"),
            _("Method"),
            zoned(_("Created at")),
            zoned(_("Approved at")),
        ]

    name = f"payments-{chosen.value.replace('_', '-')}" if chosen else "payments"
    return CsvExport(name, header, read)


def settlements_export(seller_id: int) -> CsvExport:
    """The seller's settlement entries, newest first: each sale less the fee, each refund back."""

    async def read(db: AsyncSession, after: int | None, size: int) -> tuple[list[Row], int | None]:
        stmt = select(SettlementEntry).where(SettlementEntry.seller_id == seller_id)
        if after is not None:
            stmt = stmt.where(SettlementEntry.id < after)
        found = list((await db.execute(stmt.order_by(SettlementEntry.id.desc()).limit(size))).scalars())
        rows: list[Row] = [
            (e.id, e.created_at, e.order_id, _("Refund") if e.refund_id else _("Sale"), e.gross, e.fee, e.net)
            for e in found
        ]
        return rows, found[-1].id if found else None

    def header() -> list[str]:
        return [
            _("Entry"),
            zoned(_("When")),
            _("Order"),
            _("Kind"),
            _("Amount (KRW)"),
            _("Fee (KRW)"),
            _("Net (KRW)"),
        ]

    return CsvExport("settlements", header, read)


def refund_requests_export(seller_id: int | None, show: str | None) -> CsvExport:
    """The queue of requests for money only, as its page lists it: those waiting (the oldest
    first) or those decided (the latest decision first); a seller's own orders' (an admin: None)."""
    chosen = queue_state(show)

    async def read(db: AsyncSession, after: Any, size: int) -> tuple[list[Row], Any]:
        stmt = queue_statement(select(Refund, Product.name), seller_id, chosen)
        stmt = stmt.join(Product, Product.id == Order.product_id)
        if chosen == "waiting":
            stmt = stmt.order_by(Refund.id)
            if after is not None:
                stmt = stmt.where(Refund.id > after)
        else:
            stmt = stmt.order_by(Refund.decided_at.desc(), Refund.id.desc())
            if after is not None:
                stmt = stmt.where(_decided_before(*after))
        found = (await db.execute(stmt.limit(size))).all()
        rows: list[Row] = [_refund_row(refund, product) for refund, product in found]
        if not found:
            return rows, None
        last = found[-1][0]
        return rows, last.id if chosen == "waiting" else (last.decided_at, last.id)

    def header() -> list[str]:
        return [
            _("Request"),
            _("Order"),
            _("Product"),
            _("Amount (KRW)"),
            _("Reason"),
            _("State"),
            zoned(_("Asked at")),
            zoned(_("Decided at")),
            _("Decision reason"),
        ]

    return CsvExport(f"refund-requests-{chosen}", header, read)


def _decided_before(decided_at: datetime, refund_id: int) -> Any:
    """After (decided_at, id) in the order latest decision first."""
    return or_(Refund.decided_at < decided_at, and_(Refund.decided_at == decided_at, Refund.id < refund_id))


def _refund_row(refund: Refund, product: str) -> Row:
    return (
        refund.id,
        refund.order_id,
        product,
        refund.amount,
        refund.reason,
        Label(refund.status, "refund"),
        refund.created_at,
        refund.decided_at,
        refund.decision_reason,
    )
