"""Small catalog reads that pages of other parts share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.catalog import Category, Product


async def product_names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Product names by id (any status), for lists that show them."""
    if not ids:
        return {}
    rows = await db.execute(select(Product.id, Product.name).where(Product.id.in_(set(ids))))
    return {product_id: name for product_id, name in rows}


async def root_categories(db: AsyncSession) -> list[Category]:
    """The top-level categories in their display order."""
    stmt = select(Category).where(Category.parent_id.is_(None)).order_by(Category.position, Category.name)
    return list((await db.execute(stmt)).scalars())
