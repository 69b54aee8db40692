"""The stock ledger of one product as people read it: every row, newest first, with the stock
after it (a running balance), and whether the ledger total still equals the stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import N_, Msg, _
from app.drops.stock import ledger_sum
from app.models.catalog import Product
from app.models.drops import StockEntry
from app.models.members import Member
from app.web.csv_export import CsvExport, Label, Row, zoned
from app.web.pagination import Page


@dataclass(frozen=True)
class LedgerLine:
    entry: StockEntry
    balance: int  # the fixed-price units left after this row
    actor: str | None  # who caused it; None for the system (expiry sweep, sale opening)

    @property
    def signed_delta(self) -> str:
        return f"{self.entry.delta:+d}"

    @property
    def reference_text(self) -> str:
        """The row the change is for, in words: "Purchase right #4", "Refund #2" (never ``right:4``)."""
        kind, _sep, number = (self.entry.reference or "").partition(":")
        if kind in _REFERENCES and number.isdigit():
            return str(Msg(_REFERENCES[kind], id=number))
        return self.entry.reference or ""


_REFERENCES = {"right": N_("Purchase right #%(id)s"), "refund": N_("Refund #%(id)s"), "product": N_("Product #%(id)s")}


@dataclass(frozen=True)
class StockLedger:
    product: Product
    lines: Page[LedgerLine]
    total: int  # the sum of every delta

    @property
    def stock(self) -> int:
        return self.product.fixed_left

    @property
    def opened(self) -> bool:
        """The ledger starts with the ``listing`` row written when the sale opens."""
        return self.lines.total > 0

    @property
    def consistent(self) -> bool:
        return self.total == self.stock if self.opened else self.total == 0


async def product_for(db: AsyncSession, product_id: int, seller: Member | None) -> Product:
    """The product a seller's or an administrator's page is about, or NotFound; with ``seller``,
    only that seller's own products (another seller's is "not found" too)."""
    product = await db.get(Product, product_id)
    if product is None or (seller is not None and product.seller_id != seller.id):
        raise NotFound(_("This product does not exist."))
    return product


class StockLedgerService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def product(self, product_id: int, *, seller: Member | None = None) -> Product:
        """The product, or NotFound; with ``seller``, only that seller's own products."""
        return await product_for(self.db, product_id, seller)

    async def ledger(self, product: Product, page: int, size: int) -> StockLedger:
        count = int(
            await self.db.scalar(
                select(func.count()).select_from(StockEntry).where(StockEntry.product_id == product.id)
            )
            or 0
        )
        pages = max(1, -(-count // size))
        number = min(max(1, page), pages)
        stmt = _lines(product.id).order_by(StockEntry.id.desc()).limit(size).offset((number - 1) * size)
        lines = [LedgerLine(entry, int(bal), name) for entry, bal, name in (await self.db.execute(stmt)).all()]
        return StockLedger(
            product=product,
            lines=Page(items=lines, number=number, size=size, total=count, params={}),
            total=await ledger_sum(self.db, product.id),
        )


def _lines(product_id: int) -> Select[StockEntry, int, str]:
    """The product's rows with the stock after each and who caused it. The window runs over every
    row the WHERE keeps before LIMIT picks some; a row's balance needs only the rows before it."""
    balance = func.sum(StockEntry.delta).over(order_by=StockEntry.id).label("balance")
    return (
        select(StockEntry, balance, Member.display_name)
        .outerjoin(Member, Member.id == StockEntry.actor_id)
        .where(StockEntry.product_id == product_id)
    )


def ledger_export(product: Product) -> CsvExport:
    """Every row of the product's ledger, newest first like its page, as a CSV download."""
    product_id = product.id

    async def read(db: AsyncSession, after: int | None, size: int) -> tuple[list[Row], int | None]:
        stmt = _lines(product_id)
        if after is not None:  # the rows before it are all still there for the balance
            stmt = stmt.where(StockEntry.id < after)
        found = [
            LedgerLine(e, int(bal), name)
            for e, bal, name in (await db.execute(stmt.order_by(StockEntry.id.desc()).limit(size))).all()
        ]
        rows: list[Row] = [
            (
                line.entry.id,
                line.entry.created_at,
                line.entry.delta,
                Label(line.entry.reason, "stock_reason"),
                line.reference_text,
                line.actor if line.actor is not None else _("system"),
                line.balance,
            )
            for line in found
        ]
        return rows, found[-1].entry.id if found else None

    def header() -> list[str]:
        return [_("Entry"), zoned(_("When")), _("Change"), _("Reason"), _("Reference"), _("Who"), _("Balance")]

    return CsvExport(f"stock-ledger-product-{product_id}", header, read)
