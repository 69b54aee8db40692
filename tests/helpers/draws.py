"""Draw set-up on the real services: a draw listing on sale with its stock open, members of a given
account age entering it, the draw made as the end of its window makes it, and what the draw left
in the database (entries, rights, stock)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from app.drops.draw_making import make_draw
from app.drops.draw_rules import DrawResult, commitment
from app.drops.draws import Draws, Entered
from app.drops.stock import ledger_sum
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.draws import DrawEntry
from app.models.drops import PurchaseRight, RightStatus
from app.models.members import Member
from tests.helpers.drops import on_sale

SEED = "1e9b81288f4665e90fbe54b748f8f90a3e442e3f8b759269283f7e61f9da3dc1"  # docs/DRAWS.md's example


def draw_fields(*, min_days: int = 0, seed: str = SEED, **fields) -> dict:
    """A draw listing's columns: its entries close in an hour, ``seed`` and its commitment."""
    values = {
        "sale_mode": SaleMode.DRAW,
        "draw_ends_at": utcnow() + timedelta(hours=1),
        "draw_min_account_days": min_days,
        "draw_seed": seed,
        "draw_commitment": commitment(seed),
    }
    return values | fields


async def draw_on_sale(app, members, products, *, units: int = 3, total: int | None = None, **fields) -> Product:
    """A draw listing on sale since a minute ago, its entries open for another hour (``fields``:
    ``draw_fields``' and more columns)."""
    return await on_sale(app, members, products, fixed=units, total=total or units, **draw_fields(**fields))


async def draw_soon(members, products, **fields) -> Product:
    """A draw listing whose sale (and entries) open tomorrow."""
    starts = utcnow() + timedelta(days=1)
    values = draw_fields(draw_ends_at=starts + timedelta(hours=1), **fields)
    return await products.create(
        await members.seller(), status=ProductStatus.SCHEDULED, sale_starts_at=starts, **values
    )


async def aged(app, member: Member, days: int) -> Member:
    """``member`` as if they had signed up ``days`` days ago."""
    async with app.state.database.transaction() as db:
        await db.execute(
            update(Member).where(Member.id == member.id).values(created_at=utcnow() - timedelta(days=days))
        )
        fresh = await db.get(Member, member.id)
        assert fresh is not None
        return fresh


async def enter(app, member: Member, product_id: int, *, later: timedelta = timedelta(0)) -> Entered:
    """``member`` enters through the service, now or ``later``."""
    async with app.state.database.transaction() as db:
        fresh = await db.get(Member, member.id)
        assert fresh is not None
        return await Draws(db).enter(fresh, product_id, utcnow() + later)


async def make(app, product_id: int, *, later: timedelta = timedelta(hours=2)) -> DrawResult | None:
    """The draw as its window's end makes it, judged ``later`` than now (after the window by default)."""
    async with app.state.database.transaction() as db:
        hold = app.state.settings.purchase_hold_seconds
        return await make_draw(db, product_id, hold_seconds=hold, now=utcnow() + later)


async def entries(app, product_id: int) -> list[DrawEntry]:
    """The product's entries, by id (the order the draw publishes them in)."""
    async with app.state.database.transaction() as db:
        stmt = select(DrawEntry).where(DrawEntry.product_id == product_id).order_by(DrawEntry.id)
        return list((await db.execute(stmt)).scalars())


@dataclass(frozen=True)
class Stock:
    fixed: int
    taken: int
    ledger: int  # the stock ledger's sum: the fixed-price units left
    rights: Counter[RightStatus]

    @property
    def live(self) -> int:
        return self.rights[RightStatus.HELD] + self.rights[RightStatus.PAID]

    @property
    def consistent(self) -> bool:
        """Never oversold, and the ledger, the counter and the rights all agree."""
        return self.live == self.taken <= self.fixed and self.ledger == self.fixed - self.taken


async def stock(app, product_id: int) -> Stock:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        assert product is not None
        statuses = (
            await db.execute(select(PurchaseRight.status).where(PurchaseRight.product_id == product_id))
        ).scalars()
        return Stock(
            product.fixed_quantity, product.taken_quantity, await ledger_sum(db, product_id), Counter(statuses)
        )
