"""The stock ledger of one product as people read it: every row, newest first, with the stock
after it (a running balance), and whether the ledger total still equals the stock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import N_, Msg, _
from app.drops.stock import ledger_sum
from app.models.catalog import Product
from app.models.drops import StockEntry
from app.models.members import Member
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


class StockLedgerService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def product(self, product_id: int, *, seller: Member | None = None) -> Product:
        """The product, or NotFound; with ``seller``, only that seller's own products."""
        product = await self.db.get(Product, product_id)
        if product is None or (seller is not None and product.seller_id != seller.id):
            raise NotFound(_("This product does not exist."))
        return product

    async def ledger(self, product: Product, page: int, size: int) -> StockLedger:
        count = int(
            await self.db.scalar(
                select(func.count()).select_from(StockEntry).where(StockEntry.product_id == product.id)
            )
            or 0
        )
        pages = max(1, -(-count // size))
        number = min(max(1, page), pages)
        # the window runs over every row of the product before LIMIT picks the page
        balance = func.sum(StockEntry.delta).over(order_by=StockEntry.id).label("balance")
        stmt = (
            select(StockEntry, balance, Member.display_name)
            .outerjoin(Member, Member.id == StockEntry.actor_id)
            .where(StockEntry.product_id == product.id)
            .order_by(StockEntry.id.desc())
            .limit(size)
            .offset((number - 1) * size)
        )
        lines = [LedgerLine(entry, int(bal), name) for entry, bal, name in (await self.db.execute(stmt)).all()]
        return StockLedger(
            product=product,
            lines=Page(items=lines, number=number, size=size, total=count, params={}),
            total=await ledger_sum(self.db, product.id),
        )
