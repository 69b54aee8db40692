"""Drop set-up on the real services: a product on sale with its stock open and the gate in step,
the drop service, and ways to lose the gate or expire a right."""

from __future__ import annotations

from datetime import timedelta

from app.drops.gate import gate_for, get_gate
from app.drops.reconcile import reconcile_product
from app.drops.service import DropService
from app.drops.stock import open_stock, release_right
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import RightStatus, StockReason


async def on_sale(
    app, members, products, fixed: int = 5, total: int | None = None, limit: int = 1, **fields
) -> Product:
    """A product on sale since a minute ago with its stock open; ``fields`` set more columns
    (``sale_mode``, ``draw_ends_at``…)."""
    seller = await members.seller()
    product = await products.create(
        seller,
        status=ProductStatus.ON_SALE,
        fixed_quantity=fixed,
        total_quantity=total or fixed + 2,
        purchase_limit=limit,
        sale_starts_at=utcnow() - timedelta(minutes=1),
        **fields,
    )
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        await open_stock(db, fresh)
    await reconcile_product(app.state.database, service(app).gate, product.id)
    return product


def service(app, hold: int = 600) -> DropService:
    settings = app.state.settings
    return DropService(app.state.database, get_gate(settings.redis_url, str(settings.var_dir)), hold)


async def lose_the_gate(drop, product_id: int) -> None:
    """As if Redis were flushed or restarted: the gate remembers nothing."""
    await drop.gate.forget(product_id)
    if hasattr(drop.gate, "redis"):
        await drop.gate.redis.flushdb()


async def expire_now(app, right_id: int) -> None:
    async with app.state.database.transaction() as db:
        assert await release_right(
            db, right_id, RightStatus.EXPIRED, StockReason.EXPIRY, now=utcnow() + timedelta(days=1)
        )


async def open_sale(app, product_id: int) -> None:
    """Open the stock of a product on sale and bring the gate in step with it."""
    settings = app.state.settings
    async with app.state.database.transaction() as db:
        await open_stock(db, await db.get(Product, product_id))
    await reconcile_product(app.state.database, gate_for(settings), product_id)
