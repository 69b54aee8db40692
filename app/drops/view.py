"""What a viewer sees of a product's sale, as data for the live fragment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.models.catalog import Product


async def stock_state(db: AsyncSession, product_id: int) -> dict[str, Any] | None:
    product = await db.get(Product, product_id)
    if product is None or not lifecycle.is_public(product.status):
        return None
    return {
        "product_id": product.id,
        "status": product.status.value,
        "label": lifecycle.LABELS[product.status],
        "left": product.fixed_left,
        "fixed": product.fixed_quantity,
        "auction_units": product.auction_quantity,
        "buyable": product.status.value == "on_sale" and product.fixed_left > 0,
    }
