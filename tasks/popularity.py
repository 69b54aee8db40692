"""Recompute the popular-now ranking periodically."""

from __future__ import annotations

from app.catalog.popularity import recompute_popularity as recompute
from tasks import runtime
from tasks.broker import actor


@actor(queue_name="catalog", max_retries=0)
async def recompute_popularity() -> None:
    async with runtime.database().transaction() as db:
        await recompute(db)
