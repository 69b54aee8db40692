"""A waiting room's places, written once. Before the start a join records only when the member
joined; the first time anything needs the order at or after the start (a join, a view of the line
page, the admission loop), the early joiners' places are written under the product's row lock, in
the order ``line_order`` gives with the product's seed, and ``products.line_length`` is set to
their number. From then on a member who joins takes the next place at once: one statement raises
``line_length`` and returns it. Nothing here reads the whole line again. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.drops.line_rules import Joined, line_order
from app.drops.row_lock import product_lock
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.lines import LinePlace

_products = cast(Table, Product.__table__)
_places = cast(Table, LinePlace.__table__)
_COLUMNS = (
    _products.c.id,
    _products.c.status,
    _products.c.sale_mode,
    _products.c.sale_starts_at,
    _products.c.admission_rate_per_minute,
    _products.c.line_seed,
    _products.c.line_length,
    _products.c.line_admitted,
    _products.c.fixed_quantity,
    _products.c.taken_quantity,
)


@dataclass(frozen=True)
class Line:
    """What the line's services read of its product."""

    product_id: int
    status: ProductStatus
    sale_mode: SaleMode
    starts_at: datetime
    rate: int | None  # the listing's own rate (None: the shop's)
    seed: str | None
    length: int | None  # places given (None: not written yet)
    admitted: int  # places let in
    fixed: int
    taken: int

    @property
    def units_left(self) -> int:
        return self.fixed - self.taken


def _line(row: Any) -> Line:
    return Line(
        product_id=row.id,
        status=ProductStatus(row.status),
        sale_mode=SaleMode(row.sale_mode),
        starts_at=row.sale_starts_at,
        rate=row.admission_rate_per_minute,
        seed=row.line_seed,
        length=row.line_length,
        admitted=row.line_admitted,
        fixed=row.fixed_quantity,
        taken=row.taken_quantity,
    )


_READ = select(*_COLUMNS).where(_products.c.id == bindparam("product_id"))
# The lock is a write that changes nothing: on PostgreSQL the product's row lock (the one every Buy
# batch takes too), on SQLite the database's single write lock.
_LOCK = product_lock(*_COLUMNS)
_NEXT_PLACE = (
    update(_products)
    .where(_products.c.id == bindparam("product_id"), _products.c.line_length.is_not(None))
    .values(line_length=_products.c.line_length + 1, updated_at=_products.c.updated_at)
    .returning(_products.c.line_length)
)
_SET_PLACE = update(_places).where(_places.c.id == bindparam("row_id")).values(place=bindparam("row_place"))


async def read_line(db: AsyncSession, product_id: int) -> Line | None:
    """The line as it stands, without a lock (None: no such product)."""
    row = (await db.execute(_READ, {"product_id": product_id})).one_or_none()
    return None if row is None else _line(row)


async def lock_line(db: AsyncSession, product_id: int) -> Line | None:
    """The product's row locked for the rest of the transaction, and the line read under it."""
    row = (await db.execute(_LOCK, {"product_id": product_id})).one_or_none()
    return None if row is None else _line(row)


async def record_places(db: AsyncSession, line: Line, now: datetime) -> Line:
    """Under the lock (``line`` read by ``lock_line``): at or after the start, write the places of
    everyone in the line if nobody has yet, and set the line's length; the line as it is then."""
    if line.length is not None or now < line.starts_at:
        return line
    query = select(LinePlace.id, LinePlace.member_id, LinePlace.joined_at).where(
        LinePlace.product_id == line.product_id
    )
    rows = (await db.execute(query)).all()
    row_of = {member_id: row_id for row_id, member_id, _joined in rows}
    order = line_order(line.seed or "", [Joined(member_id, joined) for _id, member_id, joined in rows], line.starts_at)
    if order:
        await db.execute(
            _SET_PLACE, [{"row_id": row_of[member_id], "row_place": n} for n, member_id in enumerate(order, 1)]
        )
    await db.execute(
        update(_products)
        .where(_products.c.id == line.product_id)
        .values(line_length=len(order), updated_at=_products.c.updated_at)
    )
    return replace(line, length=len(order))


async def next_place(db: AsyncSession, product_id: int) -> int | None:
    """The next place of a line whose places are written (raising its length by one), or None
    while they are not."""
    place = await db.scalar(_NEXT_PLACE, {"product_id": product_id})
    return None if place is None else int(place)
