"""Background loops of a web process: the outbox relay (woken after each commit that wrote
events, and polling as a fallback), the periodic safety sweeps, the waiting rooms' admissions
(every ``admission_poll_seconds``, so a line moves on with no one viewing its page), and the
flush of the product page views counted in memory (every ``view_flush_seconds``, and once more at
stop). With Redis, a short lock makes one process per interval send the sweeps and issue the
admissions, however many web processes run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from app.catalog.popularity import ViewCounter
from app.db import Database
from app.drops.admissions import issue_all_due
from app.events.relay import relay_once
from app.models.base import utcnow
from app.settings import Settings

log = logging.getLogger(__name__)

# On stop, the relay has this long to finish the batch it is sending.
STOP_SECONDS = 1.0


class BackgroundJobs:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        sweeps: Sequence[Callable[[], object]],
        views: ViewCounter | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.sweeps = sweeps
        self.views = views
        self._flushing: asyncio.Task[int] | None = None
        self.wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None
        self._stopping = False
        self._stopped = asyncio.Event()

    def start(self) -> None:
        scheduler = self.database.scheduler
        if scheduler is None:
            raise RuntimeError("the relay needs a Database built with a scheduler to send events through")
        self._send = scheduler.enqueue_event
        self._tasks = [
            asyncio.create_task(self._relay_loop(), name="outbox-relay"),
            asyncio.create_task(self._sweep_loop(), name="sweeps"),
            asyncio.create_task(self._admission_loop(), name="admissions"),
        ]
        if self.views is not None:
            self._tasks.append(asyncio.create_task(self._view_loop(), name="view-flush"))

    async def stop(self) -> None:
        """Stop in bounded time: the relay finishes the batch it is sending (its rows are marked
        sent in that batch's transaction) for up to ``STOP_SECONDS``; the sweeps stop at once."""
        self._stopping = True
        self.wakeup.set()
        self._stopped.set()
        relay = [t for t in self._tasks if t.get_name() == "outbox-relay" and not t.done()]
        if relay:
            await asyncio.wait(relay, timeout=STOP_SECONDS)
        for task in self._tasks:
            task.cancel()
        # Bounded too: a Redis call under way may swallow the cancellation (redis-py writes through
        # ``asyncio.wait_for``, which in Python 3.11 loses a cancel that meets the write's end), and
        # then only ``_stopping`` and ``_stopped`` end the loop.
        if self._tasks:
            _done, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            if stuck:
                log.warning("background loops still running at the stop: %s", sorted(t.get_name() for t in stuck))
        self._tasks = []
        if self._flushing is not None:  # a flush the cancel left running: let it finish first
            await self._flushing
            self._flushing = None
        await self.flush_views()  # the views counted since the last flush
        if self._redis is not None:
            await self._redis.aclose()

    def wake(self) -> None:
        self.wakeup.set()

    async def _relay_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.settings.outbox_poll_seconds)
            self.wakeup.clear()
            if self._stopping:
                return
            try:
                while await relay_once(self.database, self._send) > 0 and not self._stopping:
                    pass
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1)

    async def _claim(self, name: str, interval: float) -> bool:
        """Whether this process does the work of the interval: always without Redis; with it, the
        process that takes the short lock ``name`` (held for most of the interval)."""
        if not self.settings.redis_url:
            return True
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.settings.redis_url)
        ttl_ms = max(1, int(interval * 900))
        return bool(await self._redis.set(name, "1", nx=True, px=ttl_ms))

    async def _sweep_loop(self) -> None:
        while not self._stopping:
            try:
                if await self._claim("smore:sweep-lock", self.settings.sweep_seconds):
                    for send in self.sweeps:
                        send()
            except Exception:
                log.exception("periodic sweep failed")
            with contextlib.suppress(TimeoutError):  # the stop ends the wait
                await asyncio.wait_for(self._stopped.wait(), timeout=self.settings.sweep_seconds)

    async def _admission_loop(self) -> None:
        interval = self.settings.admission_poll_seconds
        while not self._stopping:
            try:
                if await self._claim("smore:admission-lock", interval):
                    await issue_all_due(self.database, self.settings, utcnow())
            except Exception:
                log.exception("issuing the waiting rooms' admissions failed")
            with contextlib.suppress(TimeoutError):  # the stop ends the wait
                await asyncio.wait_for(self._stopped.wait(), timeout=interval)

    async def flush_views(self) -> int:
        """Write the views counted in memory (one statement); returns how many were written.
        A failure keeps them for the next flush."""
        if self.views is None:
            return 0
        try:
            return await self.views.flush(self.database)
        except Exception:
            log.exception("could not write the counted views; they wait for the next flush")
            return 0

    async def _view_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):  # the stop ends the wait (and flushes itself)
                await asyncio.wait_for(self._stopped.wait(), timeout=self.settings.view_flush_seconds)
            if self._stopping:
                return
            # shielded: stopping cancels the loop, never a flush half-way through its commit
            self._flushing = asyncio.ensure_future(self.flush_views())
            await asyncio.shield(self._flushing)
            self._flushing = None
