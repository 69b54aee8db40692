"""A worker process's heartbeat (``app.admin.ops_heartbeats``): it starts when the Dramatiq worker
boots, on the actors' event loop, whose database pool it reports, and ends with the loop's stop
hooks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from app.admin.ops_heartbeats import Heartbeat, HeartbeatPublisher, this_process
from app.settings import Settings
from tasks import runtime
from tasks.shutdown import EventLoop

log = logging.getLogger(__name__)


def _worker_heartbeat() -> Heartbeat:
    return this_process("worker", runtime.database().engine, None)


class Heartbeating(Middleware):
    def __init__(self, settings: Settings, loop: EventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self.publisher: HeartbeatPublisher | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is None or self.publisher is not None:
            return
        publisher = HeartbeatPublisher(self.settings, _worker_heartbeat)

        async def start() -> None:
            publisher.start()

        try:
            asyncio.run_coroutine_threadsafe(start(), thread.loop).result(timeout=1)
        except Exception:
            log.warning("the worker's heartbeat did not start", exc_info=True)
            return
        self.publisher = publisher
        self.loop.on_stop.append(self._stop)

    async def _stop(self) -> None:
        if self.publisher is not None:
            await self.publisher.stop()
            self.publisher = None
