"""Catalog jobs: open a scheduled sale at its start time, and the safety sweep behind it."""

from __future__ import annotations

import logging
from datetime import datetime

from app.catalog.transitions import due_for_opening, open_due_sale
from app.models.base import utcnow
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)


@actor(queue_name="catalog", max_retries=5)
async def open_sale(product_id: int) -> None:
    async with runtime.database().transaction() as db:
        await open_due_sale(db, product_id)


@actor(queue_name="catalog", max_retries=0)
async def sweep_scheduled_sales() -> None:
    """Opens every sale whose start has passed: covers delayed messages lost to a restart."""
    async with runtime.database().transaction() as db:
        ids = await due_for_opening(db)
    for product_id in ids:
        async with runtime.database().transaction() as db:
            if await open_due_sale(db, product_id):
                log.info("sweep opened the sale of product %s", product_id)


def schedule_opening(product_id: int, starts_at: datetime) -> None:
    delay_ms = max(0, int((starts_at - utcnow()).total_seconds() * 1000))
    open_sale.send_with_options(args=(product_id,), delay=delay_ms)
