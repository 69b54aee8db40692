"""Publishing live product state. Services say "product N changed" after their commit
(``touch``); the hub coalesces bursts (one refresh per product per 100 ms), reads the committed
state in a short session of its own and publishes a ready-to-swap HTML fragment to the channel
``product:{id}``. Reading the state at publish time, instead of sending what one transaction saw,
means concurrent commits can never leave a stale number on screen.

In a web process the hub publishes through Litestar's channels plugin (memory, or Redis pub/sub
fanned out to every web process). A separate worker process publishes through the same Redis
channels backend. ``touch`` is thread-safe: the embedded worker thread calls it too."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.db import Database
from app.drops.view import stock_state

log = logging.getLogger(__name__)

Publish = Callable[[str, str], Awaitable[None]]

COALESCE_SECONDS = 0.1


def channel_for(product_id: int) -> str:
    return f"product:{product_id}"


def encode(event: str, html: str) -> str:
    return json.dumps({"event": event, "html": html})


class LiveHub:
    def __init__(
        self, database: Database | Callable[[], Database], publish: Publish, render: Callable[[dict[str, Any]], str]
    ) -> None:
        self._database = database
        self.publish = publish
        self.render = render
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def touch(self, *product_ids: int) -> None:
        loop = self.loop
        if loop is None:
            try:  # a worker process: publish from the loop its actors run on
                loop = self.loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        if loop.is_closed():
            return
        for product_id in product_ids:
            loop.call_soon_threadsafe(self._schedule, product_id)

    def _schedule(self, product_id: int) -> None:
        if product_id in self._pending:
            return
        self._pending.add(product_id)
        assert self.loop is not None
        self.loop.call_later(COALESCE_SECONDS, self._start, product_id)

    def _start(self, product_id: int) -> None:
        if self.closed:  # shutting down: the channels are gone
            return
        task = asyncio.ensure_future(self._publish(product_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, product_id: int) -> None:
        self._pending.discard(product_id)
        try:
            async with self.database().transaction() as db:
                state = await stock_state(db, product_id)
            if state is not None:
                await self.publish(channel_for(product_id), encode("stock", self.render(state)))
        except Exception:
            log.exception("could not publish the live state of product %s", product_id)

    def database(self) -> Database:
        return self._database if isinstance(self._database, Database) else self._database()

    async def current(self, product_id: int) -> str | None:
        async with self.database().transaction() as db:
            state = await stock_state(db, product_id)
        return None if state is None else self.render(state)

    async def close(self) -> None:
        self.closed = True
        await self.drain()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


_hub: list[LiveHub] = []


def set_hub(hub: LiveHub | None) -> None:
    _hub[:] = [hub] if hub else []


def touch(*product_ids: int) -> None:
    """After a commit that changed stock or state: every viewer gets the new state."""
    if _hub:
        _hub[0].touch(*product_ids)


def worker_hub(redis_url: str, database: Callable[[], Database]) -> LiveHub:
    """The hub of a separate worker process: publishes through the same Redis channels backend
    the web processes subscribe with (one client per event loop)."""
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from redis.asyncio import Redis

    from app.web.templating import build_template_config

    template = build_template_config().engine_instance.engine.get_template("drops/_stock.html")
    backends: dict[int, RedisChannelsPubSubBackend] = {}

    async def publish(channel: str, data: str) -> None:
        loop_id = id(asyncio.get_running_loop())
        backend = backends.get(loop_id)
        if backend is None:
            backend = backends[loop_id] = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
        await backend.publish(data.encode(), [channel])

    return LiveHub(database, publish=publish, render=lambda state: template.render(state=state))
