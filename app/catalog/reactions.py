"""How the catalog reacts to its own events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.transitions import STATUS_CHANGED
from app.events.handlers import on
from app.models.catalog import Product, ProductStatus
from app.models.events import OutboxEvent


@on(STATUS_CHANGED, name="catalog.schedule_opening")
async def schedule_opening_at_start(db: AsyncSession, event: OutboxEvent) -> None:
    """A product became scheduled: a delayed message opens its sale at the start time."""
    if event.payload.get("to_status") != ProductStatus.SCHEDULED.value:
        return
    product = await db.get(Product, event.aggregate_id)
    if product is None or product.status is not ProductStatus.SCHEDULED:
        return
    from tasks.catalog import schedule_opening

    schedule_opening(product.id, product.sale_starts_at)
