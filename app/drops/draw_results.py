"""What a draw's public page reads: during the window the number of entries and the commitment;
once it is made, the revealed seed and whether its SHA-256 is the commitment, the units, every
entry id (a page at a time, and all of them as plain text, one per line, for
``python -m app.drops.verify_draw``), the winners in draw order and the units offered later.
Entry ids and places only: never who entered."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.drops.draw_rules import commitment
from app.models.catalog import Product
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PurchaseRight, RightStatus
from app.web.pagination import Page, paginate

ENTRY_IDS_PER_PAGE = 500


@dataclass(frozen=True)
class Offered:
    """A unit the draw offered: to which entry, its place in the draw order, and its right's state."""

    entry_id: int
    place: int
    right: RightStatus


@dataclass(frozen=True)
class Results:
    seed: str
    commitment_ok: bool  # sha256(seed) is the commitment shown during the window
    units: int
    winners: list[Offered]  # in draw order
    later: list[Offered]  # the cascade's offers, in draw order
    ids: Page[int]  # the entry ids, ascending


async def entry_count(db: AsyncSession, product_id: int) -> int:
    query = select(func.count()).select_from(DrawEntry).where(DrawEntry.product_id == product_id)
    return int(await db.scalar(query) or 0)


async def offered(db: AsyncSession, product_id: int, status: EntryStatus) -> list[Offered]:
    rows = await db.execute(
        select(DrawEntry.id, DrawEntry.place, PurchaseRight.status)
        .join(PurchaseRight, PurchaseRight.id == DrawEntry.right_id)
        .where(DrawEntry.product_id == product_id, DrawEntry.status == status)
        .order_by(DrawEntry.place)
    )
    return [Offered(entry_id, place or 0, right) for entry_id, place, right in rows]


def _ids(product_id: int) -> Select[int]:
    return select(DrawEntry.id).where(DrawEntry.product_id == product_id).order_by(DrawEntry.id)


async def results(db: AsyncSession, product: Product, page: int, size: int = ENTRY_IDS_PER_PAGE) -> Results | None:
    """The published draw (None before it is made), with page ``page`` of its entry ids."""
    if product.drawn_at is None or product.draw_seed is None:
        return None
    return Results(
        seed=product.draw_seed,
        commitment_ok=commitment(product.draw_seed) == product.draw_commitment,
        units=product.draw_units or 0,
        winners=await offered(db, product.id, EntryStatus.WON),
        later=await offered(db, product.id, EntryStatus.OFFERED),
        ids=await paginate(db, _ids(product.id), page, size),
    )


async def entry_ids_text(db: AsyncSession, product: Product) -> str:
    """Every entry id of a made draw, one per line (what ``verify_draw`` reads)."""
    if product.drawn_at is None:
        raise NotFound(_("The entries are published once the draw is made."))
    return "".join(f"{entry_id}\n" for entry_id in (await db.execute(_ids(product.id))).scalars())
