"""Live product state reaches subscribers: from the web process (channels plugin) and from a
separate worker process (Redis channels backend), coalesced and read after commit."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from app.live.hub import channel_for, channel_prefix, worker_hub
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from tests.helpers.backends import TEST_REDIS_URL

REDIS = TEST_REDIS_URL


async def test_a_touch_publishes_the_committed_state_once_per_burst(client, app, members, products):
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.ON_SALE, fixed_quantity=5, total_quantity=8)
    channels = app.plugins.get("ChannelsPlugin")
    live = app.state.live

    async def listen() -> list[dict]:
        received = []
        async with channels.start_subscription([channel_for(product.id)]) as subscriber:
            ready.set()
            async for raw in subscriber.iter_events():
                event = json.loads(raw)
                if 'data-status="on_sale"' not in event.get("html", ""):
                    # a late message of an earlier test's product with the same id (ids restart at 1
                    # in every PostgreSQL test), never this product's: it is on sale
                    continue
                received.append(event)
                if len(received) == 1:
                    await asyncio.sleep(0.3)  # anything more in the same burst would arrive now
                    return received
        return received

    ready = asyncio.Event()
    # the app (and its channels) run on the test client's loop: subscribe there
    received = client.blocking_portal.start_task_soon(listen)
    await asyncio.sleep(0.2)
    async with app.state.database.transaction() as db:
        (await db.get(Product, product.id)).taken_quantity = 2
    for _ in range(5):
        live.touch(product.id)  # a burst of five changes → one message with the latest state
    messages = await asyncio.wrap_future(received)
    assert len(messages) == 1 and messages[0]["event"] == "stock"
    assert "<strong>3</strong> of 5 left" in messages[0]["html"]


@pytest.mark.skipif(not REDIS, reason="TEST_REDIS_URL unset: the worker hub publishes through Redis")
async def test_a_worker_process_publishes_through_redis(app, members, products):
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from redis.asyncio import Redis

    seller = await members.seller()
    product = await products.create(
        seller, status=ProductStatus.ON_SALE, fixed_quantity=4, total_quantity=4, sale_starts_at=utcnow() - timedelta(1)
    )
    backend = RedisChannelsPubSubBackend(redis=Redis.from_url(REDIS), key_prefix=channel_prefix(REDIS))
    await backend.on_startup()
    await backend.subscribe([channel_for(product.id)])
    await asyncio.sleep(0.2)
    hub = worker_hub(REDIS, lambda: app.state.database)
    hub.touch(product.id)

    async def first() -> dict:
        async for _channel, data in backend.stream_events():
            event = json.loads(data)
            if 'data-status="on_sale"' in event.get("html", ""):
                return event
            # a late message of another test's product with the same id (ids restart at 1 in every
            # PostgreSQL test, and the test processes share the Redis database): never this one's
        raise AssertionError("stream ended")

    event = await asyncio.wait_for(first(), 5)
    assert "<strong>4</strong> of 4 left" in event["html"]
    await backend.on_shutdown()
