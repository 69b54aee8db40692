"""What the public sees: the home page sections and category listings. Every query here is
limited to ``lifecycle.PUBLIC_STATUSES``; drafts, cancelled and hidden products never appear."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.catalog.lifecycle import LABELS, PUBLIC_STATUSES
from app.catalog.queries import root_categories
from app.catalog.rules import MAX_ID
from app.catalog.service import CategoryService
from app.core.errors import NotFound
from app.core.i18n import Msg, _, pgettext
from app.models.base import utcnow
from app.models.catalog import Category, Product
from app.models.catalog import ProductStatus as S
from app.models.members import Member, MemberRole
from app.web.pagination import Page, paginate

_UNKNOWN = Msg("This product does not exist or is not available.")
SECTION_SIZE = 8
LIVE_DROP_STATUSES = (S.ON_SALE, S.CONVERSION_PENDING)


def public_products() -> Select[Product]:
    """The starting point of every public list."""
    return select(Product).where(Product.status.in_(PUBLIC_STATUSES))


async def _list(db: AsyncSession, stmt: Select[Product], limit: int) -> list[Product]:
    return list((await db.execute(stmt.limit(limit))).scalars())


async def home_sections(db: AsyncSession) -> dict[str, Any]:
    """The home page: live drops, starting soon, live auctions, popular now (each a short list),
    and the top-level categories."""
    return {
        "live_drops": await live_drops(db),
        "starting_soon": await starting_soon(db),
        "live_auctions": await live_auctions(db),
        "popular_now": await popular_now(db),
        "categories": await root_categories(db),
    }


async def live_drops(db: AsyncSession, limit: int = SECTION_SIZE) -> list[Product]:
    """Fixed-price sales open now (including those whose last units are held for payment),
    the most recently opened first."""
    stmt = public_products().where(Product.status.in_(LIVE_DROP_STATUSES))
    return await _list(db, stmt.order_by(Product.sale_starts_at.desc(), Product.id.desc()), limit)


async def starting_soon(db: AsyncSession, limit: int = SECTION_SIZE) -> list[Product]:
    """Scheduled sales, the next to open first."""
    stmt = public_products().where(Product.status == S.SCHEDULED)
    return await _list(db, stmt.order_by(Product.sale_starts_at, Product.id), limit)


async def live_auctions(db: AsyncSession, limit: int = SECTION_SIZE) -> list[Product]:
    """Auctions running now, the most recently started first."""
    stmt = public_products().where(Product.status == S.AUCTION_LIVE)
    return await _list(db, stmt.order_by(Product.updated_at.desc(), Product.id.desc()), limit)


async def popular_now(db: AsyncSession, limit: int = SECTION_SIZE) -> list[Product]:
    """Public products with any recent interest, by ``popularity`` (see ``app.catalog.popularity``)."""
    stmt = public_products().where(Product.popularity > 0)
    return await _list(db, stmt.order_by(Product.popularity.desc(), Product.id.desc()), limit)


# Category pages: what can be bought now first, then what opens soon, then what has ended.
_STATUS_RANK = case(
    (Product.status.in_([S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE]), 0),
    (Product.status == S.SCHEDULED, 1),
    else_=2,
)


async def in_categories(db: AsyncSession, category_ids: Iterable[int], page: int, size: int) -> Page[Product]:
    """The public products of the given categories (a category and its descendants), paginated."""
    ids = sorted(set(category_ids))
    stmt = public_products().where(Product.category_id.in_(ids))
    stmt = stmt.order_by(_STATUS_RANK, Product.sale_starts_at.desc(), Product.id.desc())
    return await paginate(db, stmt, page, size)


# -- one product page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductView:
    """A product as one viewer may see it."""

    product: Product
    seller: Member | None
    path: list[Category]
    viewer_is_seller: bool
    viewer_is_admin: bool

    @property
    def is_public(self) -> bool:
        return lifecycle.is_public(self.product.status)

    @property
    def counts_as_view(self) -> bool:
        """Only public pages seen by someone other than the seller feed the ranking."""
        return self.is_public and not self.viewer_is_seller


async def product_view(db: AsyncSession, product_id: int, viewer: Member | None) -> ProductView:
    """Raises ``NotFound`` for an unknown product, and for a draft, cancelled or hidden one
    unless the viewer is its seller or an administrator (so its existence does not leak)."""
    product = await db.get(Product, product_id) if 1 <= product_id <= MAX_ID else None
    if product is None:
        raise NotFound(_UNKNOWN)
    is_seller = viewer is not None and viewer.id == product.seller_id
    is_admin = viewer is not None and viewer.role is MemberRole.ADMIN
    if not lifecycle.is_public(product.status) and not (is_seller or is_admin):
        raise NotFound(_UNKNOWN)
    category = await db.get(Category, product.category_id)
    path = await CategoryService(db).path(category) if category else []
    return ProductView(product, await db.get(Member, product.seller_id), path, is_seller, is_admin)


# -- template helpers ----------------------------------------------------------------------------

KST = timezone(timedelta(hours=9), "KST")


def iso_utc(value: datetime) -> str:
    """``2026-11-27T09:00:00Z``: what ``static/js/countdown.js`` reads."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def starts_in(value: datetime, now: datetime | None = None) -> str:
    """``starts in 2d 03:04:05`` (the same text the countdown script keeps up to date)."""
    seconds = int((value - (now or utcnow())).total_seconds())
    if seconds <= 0:
        return _("starting now")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    day = f"{days}{pgettext('days, short', 'd')} " if days else ""
    return _("starts in %(time)s", time=f"{day}{hours:02d}:{minutes:02d}:{secs:02d}")


def template_helpers() -> dict[str, Any]:
    """Merged into the context of pages that show product cards."""
    return {"labels": LABELS, "iso_utc": iso_utc, "starts_in": starts_in}
