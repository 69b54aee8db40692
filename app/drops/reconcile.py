"""Rebuild the gate from the database (at start-up, periodically, and on demand):

python -m app.drops.reconcile
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.drops.gate import Gate, get_gate
from app.drops.rules import LIVE_RIGHTS
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight

log = logging.getLogger(__name__)

SELLING = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING)


async def reconcile_product(db: AsyncSession, gate: Gate, product_id: int) -> None:
    product = await db.get(Product, product_id, populate_existing=True)
    if product is None or product.status not in SELLING:
        await gate.forget(product_id)
        return
    rows = await db.execute(
        select(PurchaseRight.member_id, func.count())
        .where(PurchaseRight.product_id == product_id, PurchaseRight.status.in_(LIVE_RIGHTS))
        .group_by(PurchaseRight.member_id)
    )
    left = product.fixed_left if product.status is ProductStatus.ON_SALE else 0
    await gate.load(product_id, left, product.purchase_limit, dict(rows.all()))


async def reconcile_all(db: AsyncSession, gate: Gate) -> int:
    ids = list((await db.execute(select(Product.id).where(Product.status.in_(SELLING)))).scalars())
    for product_id in ids:
        await reconcile_product(db, gate, product_id)
    return len(ids)


def main() -> None:
    from app.db import Database
    from app.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()

    async def run() -> int:
        database = Database(settings)
        gate = get_gate(settings.redis_url, str(settings.var_dir))
        try:
            async with database.transaction() as db:
                return await reconcile_all(db, gate)
        finally:
            await gate.close()
            await database.dispose()

    log.info("gate rebuilt for %s products", asyncio.run(run()))


if __name__ == "__main__":
    main()
