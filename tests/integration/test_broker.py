"""The queue: actors declared at import follow the broker the app configures, and the in-process
worker (embedded default) or the Redis broker runs them, delayed messages included."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import func, select

from app.models.catalog import Category
from tasks import runtime
from tasks.broker import actor


@actor(max_retries=0)
async def record_category(slug: str) -> None:
    async with runtime.database().transaction() as db:
        db.add(Category(name=slug.title(), slug=slug))


async def _count(app, slug: str) -> int:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(func.count()).where(Category.slug == slug))).scalar_one()


async def _wait_for(app, slug: str, limit: float = 10.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if await _count(app, slug) == 1:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"the actor never wrote {slug!r}")


async def test_actor_runs_on_the_configured_broker(client, app):
    handle = app.state.broker
    assert record_category.broker is handle.broker
    if handle.backend == "redis":
        # the web process does not consume in production; run a worker here as `make worker` would
        handle.start_worker()
    record_category.send("queued-now")
    await _wait_for(app, "queued-now")


async def test_delayed_message_waits_for_its_delay(client, app):
    if app.state.broker.backend == "redis":
        app.state.broker.start_worker()
    record_category.send_with_options(args=("queued-later",), delay=600)
    await asyncio.sleep(0.2)
    assert await _count(app, "queued-later") == 0
    waited = await _wait_for(app, "queued-later")
    assert waited > 0.2
