"""Each web and worker process says every few seconds that it is alive, and what it holds: its open
live streams (SSE) and its database connections in use. With ``REDIS_URL`` the heartbeat is a Redis
key per process that expires ``TTL_SECONDS`` after its last beat, so the operations page lists the
processes of every host that are alive; without it, this process's own (the embedded default is one
process, its in-process worker beside its web loop)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.base import utcnow

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
TTL_SECONDS = 15
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class PoolUsage:
    """A process's database pool: connections checked out, and its size (None for a pool that keeps
    none open, such as a NullPool)."""

    in_use: int | None
    size: int | None


@dataclass(frozen=True)
class Heartbeat:
    host: str
    pid: int
    role: str  # "web" or "worker"
    streams: int | None  # open live streams (a worker serves none)
    pool: PoolUsage
    at: datetime

    @property
    def name(self) -> str:
        return f"{self.role}:{self.host}:{self.pid}"

    def dumps(self) -> str:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data)

    @classmethod
    def loads(cls, text: str | bytes) -> Heartbeat:
        data = json.loads(text)
        pool = PoolUsage(**data.pop("pool"))
        return cls(pool=pool, at=datetime.fromisoformat(data.pop("at")), **data)


def pool_usage(engine: AsyncEngine) -> PoolUsage:
    pool = engine.pool
    in_use = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    return PoolUsage(in_use() if callable(in_use) else None, size() if callable(size) else None)


def this_process(role: str, engine: AsyncEngine, streams: int | None) -> Heartbeat:
    return Heartbeat(socket.gethostname(), os.getpid(), role, streams, pool_usage(engine), utcnow())


class Heartbeats(ABC):
    backend: str

    @abstractmethod
    async def beat(self, heartbeat: Heartbeat) -> None: ...
    @abstractmethod
    async def forget(self, heartbeat: Heartbeat) -> None: ...
    @abstractmethod
    async def alive(self) -> list[Heartbeat]:
        """The processes whose last beat is younger than ``TTL_SECONDS``, by role, host and pid."""


class MemoryHeartbeats(Heartbeats):
    backend = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the embedded worker's loop beats from its own thread
        self._beats: dict[str, tuple[Heartbeat, float]] = {}

    async def beat(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self._beats[heartbeat.name] = (heartbeat, time.monotonic() + TTL_SECONDS)

    async def forget(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self._beats.pop(heartbeat.name, None)

    async def alive(self) -> list[Heartbeat]:
        now = time.monotonic()
        with self._lock:
            for name in [n for n, (_, until) in self._beats.items() if until <= now]:
                del self._beats[name]
            return sorted((beat for beat, _ in self._beats.values()), key=lambda b: (b.role, b.host, b.pid))


class RedisHeartbeats(Heartbeats):
    backend = "redis"

    # One hash tag for every process's key: ``alive`` reads them all with one MGET, which Redis
    # Cluster answers only for keys of one slot.
    def __init__(self, url: str, prefix: str = "smore:{processes}") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def _key(self, heartbeat: Heartbeat) -> str:
        return f"{self.prefix}:{heartbeat.name}"

    async def beat(self, heartbeat: Heartbeat) -> None:
        await self.redis.set(self._key(heartbeat), heartbeat.dumps(), ex=TTL_SECONDS)

    async def forget(self, heartbeat: Heartbeat) -> None:
        await self.redis.delete(self._key(heartbeat))

    async def alive(self) -> list[Heartbeat]:
        keys = [key async for key in self.redis.scan_iter(match=f"{self.prefix}:*", count=500)]
        beats = []
        for text in await self.redis.mget(keys) if keys else []:
            if text is None:  # expired since the scan
                continue
            try:
                beats.append(Heartbeat.loads(text))
            except (ValueError, TypeError, KeyError):
                log.warning("a process heartbeat could not be read: %r", text[:200])
        return sorted(beats, key=lambda b: (b.role, b.host, b.pid))

    async def close(self) -> None:
        await self.redis.aclose()


_memory: dict[str, MemoryHeartbeats] = {}
_redis: dict[tuple[str, int], RedisHeartbeats] = {}


def heartbeats_for(settings: Any) -> Heartbeats:
    """This process's store: in memory per var folder, or a Redis client per event loop."""
    if not settings.redis_url:
        return _memory.setdefault(str(settings.var_dir), MemoryHeartbeats())
    key = (settings.redis_url, id(asyncio.get_running_loop()))
    store = _redis.get(key)
    if store is None:
        store = _redis[key] = RedisHeartbeats(settings.redis_url)
    return store


class HeartbeatPublisher:
    """Beats at start and every ``every`` seconds on the loop it is started on; at stop, the
    process's heartbeat is taken away (a process that dies simply stops beating)."""

    def __init__(self, settings: Any, read: Callable[[], Heartbeat], every: float = BEAT_SECONDS) -> None:
        self.settings = settings
        self.read = read
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._last: Heartbeat | None = None
        self._warned_at = -WARN_EVERY_SECONDS
        self._stopped = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="heartbeat")

    async def beat(self) -> None:
        try:
            self._last = self.read()
            await heartbeats_for(self.settings).beat(self._last)
        except Exception:
            if time.monotonic() - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = time.monotonic()
                log.warning("could not publish this process's heartbeat", exc_info=True)

    async def _loop(self) -> None:
        while not self._stopped.is_set():
            await self.beat()
            with contextlib.suppress(TimeoutError):  # the stop ends the wait
                await asyncio.wait_for(self._stopped.wait(), timeout=self.every)

    async def stop(self) -> None:
        """Bounded: the loop ends at the stop's signal even if a Redis call under way swallowed the
        cancellation (Python 3.11's ``wait_for``, which redis-py uses for its writes, can)."""
        self._stopped.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=1)
            self._task = None
        if self._last is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(heartbeats_for(self.settings).forget(self._last), timeout=1)
