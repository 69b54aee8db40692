"""How the catalog reacts to events: a product that became scheduled gets its opening scheduled;
a granted purchase right and a batch of accepted bids feed the popular-now counters."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions.bidding import BIDS_PLACED
from app.catalog.popularity import record_bid, record_purchase
from app.drops.service import RIGHT_GRANTED
from app.events.handlers import on
from app.events.topics import Topic
from app.models.catalog import Product, ProductStatus
from app.models.events import OutboxEvent


@on(Topic.PRODUCT_STATUS_CHANGED, name="catalog.schedule_opening")
async def schedule_opening_at_start(db: AsyncSession, event: OutboxEvent) -> None:
    """A product became scheduled: a delayed message opens its sale at the start time."""
    if event.payload.get("to_status") != ProductStatus.SCHEDULED.value:
        return
    product = await db.get(Product, event.aggregate_id)
    if product is None or product.status is not ProductStatus.SCHEDULED:
        return
    from tasks.catalog import schedule_opening

    schedule_opening(product.id, product.sale_starts_at)


@on(RIGHT_GRANTED, name="catalog.count_purchase")
async def count_purchase(db: AsyncSession, event: OutboxEvent) -> None:
    """One purchase on the UTC day the right was granted (the inbox makes it once per event)."""
    await record_purchase(db, int(event.payload["product_id"]), event.created_at.astimezone(UTC).date())


@on(BIDS_PLACED, name="catalog.count_bids")
async def count_bids(db: AsyncSession, event: OutboxEvent) -> None:
    """The accepted bids of one committed batch, on the UTC day the batch was written."""
    count = int(event.payload["bids"])
    if count > 0:
        await record_bid(db, int(event.payload["product_id"]), event.created_at.astimezone(UTC).date(), count=count)
