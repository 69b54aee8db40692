"""A product as a search document. Only public products have one: drafts, cancelled and hidden
products are removed from the index (``None`` here means "delete")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from app.catalog import rules as category_rules
from app.catalog.lifecycle import PUBLIC_STATUSES
from app.models.catalog import Category, Product, ProductStatus
from app.models.members import Member
from app.search.schema import normalise

# "Ending soon" order: live auctions first (they end within minutes), then running sales, then
# scheduled ones, each by start time; ended products last. When auctions carry an ``ends_at``
# it replaces the start time for them.
_ENDS_TIER = {
    ProductStatus.AUCTION_LIVE: 0,
    ProductStatus.CONVERSION_PENDING: 1,
    ProductStatus.ON_SALE: 1,
    ProductStatus.SCHEDULED: 2,
    ProductStatus.ENDED: 9,
}
_TIER_SPAN = 10**14  # larger than any millisecond timestamp we will see
# The name is repeated in the combined search fields: a match in the name ranks higher.
NAME_WEIGHT = 3
# The seller's name is shown on a hit but is not product text: a shop called "Hanbit Figures"
# would otherwise make every one of its products match "figure".


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    parent_id: int | None
    name: str


def millis(value: datetime | None) -> int:
    return int(value.timestamp() * 1000) if value else 0


def ends_soon_key(status: ProductStatus, sale_starts_at: datetime) -> int:
    return _ENDS_TIER.get(status, 9) * _TIER_SPAN + millis(sale_starts_at)


def to_document(product: Product, categories: Mapping[int, CategoryInfo], seller_name: str) -> dict[str, Any] | None:
    """Pure: the fields the schema indexes, or ``None`` when the product must not be searchable."""
    if product.status not in PUBLIC_STATUSES:
        return None
    parents = {c.id: c.parent_id for c in categories.values()}
    path_ids = category_rules.path_ids(product.category_id, parents) or [product.category_id]
    path = " / ".join(categories[i].name for i in path_ids if i in categories)
    name, description = normalise(product.name), normalise(product.description or "")
    seller, category = normalise(seller_name), normalise(path)
    combined = "\n".join([name] * NAME_WEIGHT + [category, description])
    return {
        "id": str(product.id),
        "text": combined,
        "ngrams": combined,
        "name": name,
        "category": category,
        "seller": seller,
        "category_ids": " ".join(str(i) for i in path_ids),
        "status": product.status.value,
        "price": int(product.list_price),
        "created": millis(product.created_at),
        "updated": millis(product.updated_at),
        "ends_soon": ends_soon_key(product.status, product.sale_starts_at),
        "popularity": max(0, int(product.popularity or 0)),
    }


async def load_categories(db: AsyncSession) -> dict[int, CategoryInfo]:
    rows = await db.execute(select(Category.id, Category.parent_id, Category.name))
    return {cid: CategoryInfo(cid, pid, name) for cid, pid, name in rows.all()}


async def load_sellers(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Member.id, Member.display_name).where(Member.id.in_(ids)))
    return {member_id: name for member_id, name in rows.all()}


async def product_document(db: AsyncSession, product_id: int) -> dict[str, Any] | None:
    """Reload the product as it is now; ``None`` when it is gone or not public."""
    return (await product_documents(db, [product_id]))[product_id]


async def product_documents(db: AsyncSession, product_ids: Collection[int]) -> dict[int, dict[str, Any] | None]:
    """Each product's document as it is now (``None``: gone or not public), in three queries."""
    if not product_ids:
        return {}
    stmt = (
        select(Product)
        .where(Product.id.in_(product_ids))
        .options(raiseload(Product.images))
        .execution_options(populate_existing=True)
    )
    products = {p.id: p for p in (await db.execute(stmt)).scalars() if p.status in PUBLIC_STATUSES}
    categories = await load_categories(db) if products else {}
    sellers = await load_sellers(db, {p.seller_id for p in products.values()})
    docs: dict[int, dict[str, Any] | None] = {}
    for product_id in product_ids:
        product = products.get(product_id)
        docs[product_id] = (
            None if product is None else to_document(product, categories, sellers.get(product.seller_id, ""))
        )
    return docs


def public_count() -> Select[int]:
    return select(func.count()).select_from(Product).where(Product.status.in_(PUBLIC_STATUSES))


async def all_documents(db: AsyncSession, batch: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every public product's document, read in batches by id."""
    categories = await load_categories(db)
    last_id = 0
    while True:
        stmt = (
            select(Product)
            .options(raiseload(Product.images))
            .where(Product.id > last_id, Product.status.in_(PUBLIC_STATUSES))
            .order_by(Product.id)
            .limit(batch)
        )
        products = list((await db.execute(stmt)).scalars())
        if not products:
            return
        sellers = await load_sellers(db, {p.seller_id for p in products})
        for product in products:
            doc = to_document(product, categories, sellers.get(product.seller_id, ""))
            if doc is not None:
                yield doc
        last_id = products[-1].id
        db.expunge_all()
