"""Rebuild the gate from the database (at start-up, periodically, and on demand):

python -m app.drops.reconcile
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from app.db import Database
from app.drops.gate import Gate, gate_for
from app.drops.rules import LIVE_RIGHTS, Outcome, PressResult
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight

log = logging.getLogger(__name__)

SELLING = (ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING)
# A rebuild that read the database before a change the gate has already seen is read again.
LOAD_ATTEMPTS = 5


async def reconcile_product(database: Database, gate: Gate, product_id: int, *, keys: bool = True) -> bool:
    """Rebuild the gate's copy of one product from the database: units left, what each member
    holds and (``keys``) the answers of its live rights' keys. Each attempt reads in a short
    transaction of its own, then loads the gate. Returns False if every read was older than a change
    the gate had seen meanwhile (the next rebuild will do)."""
    for _ in range(LOAD_ATTEMPTS):
        async with database.transaction() as db:
            # One statement: the product row and its live rights from the same snapshot.
            rows = (
                await db.execute(
                    select(
                        Product.status,
                        Product.fixed_quantity,
                        Product.taken_quantity,
                        Product.purchase_limit,
                        Product.stock_version,
                        PurchaseRight.id,
                        PurchaseRight.member_id,
                        PurchaseRight.idempotency_key,
                    )
                    .outerjoin(
                        PurchaseRight,
                        (PurchaseRight.product_id == Product.id) & PurchaseRight.status.in_(LIVE_RIGHTS),
                    )
                    .where(Product.id == product_id)
                )
            ).all()
        if not rows:
            await gate.forget(product_id)
            return True
        first = rows[0]
        left = first.fixed_quantity - first.taken_quantity if first.status is ProductStatus.ON_SALE else 0
        holdings: dict[int, int] = {}
        live_keys: dict[str, str] = {}
        if first.status in SELLING:
            for row in rows:
                if row.id is not None:
                    holdings[row.member_id] = holdings.get(row.member_id, 0) + 1
                    live_keys[row.idempotency_key] = PressResult(Outcome.GRANTED, row.id).to_gate(row.member_id)
        loaded = await gate.load(
            product_id,
            left=left,
            limit=first.purchase_limit,
            holdings=holdings,
            version=first.stock_version,
            keys=live_keys if keys else None,
        )
        if loaded.applied:
            before = loaded.before
            if before is not None and before.left != left and before.version == first.stock_version:
                log.warning(
                    "gate drift repaired for product %s: it had %s units left, the database %s (version %s)",
                    product_id,
                    before.left,
                    left,
                    first.stock_version,
                )
            return True
    log.info("gate rebuild for product %s kept losing to newer changes; left to the next one", product_id)
    return False


async def reconcile_all(database: Database, gate: Gate) -> int:
    async with database.transaction() as db:
        ids = list((await db.execute(select(Product.id).where(Product.status.in_(SELLING)))).scalars())
    for product_id in ids:
        await reconcile_product(database, gate, product_id)
    return len(ids)


def main() -> None:
    from app.db import Database
    from app.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()

    async def run() -> int:
        database = Database(settings)
        gate = gate_for(settings)
        try:
            return await reconcile_all(database, gate)
        finally:
            await gate.close()
            await database.dispose()

    log.info("gate rebuilt for %s products", asyncio.run(run()))


if __name__ == "__main__":
    main()
