"""Things that may be used once: a key is claimed by the first caller and refused to every later one
until the moment it stops mattering (the proof it names has expired by then anyway).

In memory for the single embedded process; in Redis with ``REDIS_URL``, one ``SET … NX`` per claim,
so every web process refuses a key any of them has seen. Built once per app, like the login
throttle's counters (``app/accounts/limits.py``)."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol

from app.observability.tracing import instrument_redis
from app.settings import Settings


class SingleUse(Protocol):
    async def claim(self, key: str, until: float) -> bool:
        """True for the first claim of ``key`` (remembered until ``until``, Unix seconds, and at
        least a second), False for any later one made before then."""
        ...


class MemorySingleUse:
    """Claims of the single embedded process. Each claim runs without yielding, so it is atomic on
    the event loop; keys whose time is over are dropped as later claims arrive."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._ends: list[tuple[float, str]] = []  # a heap of (until, key), soonest first

    def __len__(self) -> int:
        return len(self._until)

    async def claim(self, key: str, until: float) -> bool:
        now = self._clock()
        while self._ends and self._ends[0][0] <= now:
            ends, old = heapq.heappop(self._ends)
            if self._until.get(old) == ends:
                del self._until[old]
        if self._until.get(key, 0.0) > now:
            return False
        until = max(until, now + 1)
        self._until[key] = until
        heapq.heappush(self._ends, (until, key))
        return True


class RedisSingleUse:
    """Claims shared by every web process: ``SET smore:once:<key> 1 NX PXAT <until>``."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)

    async def claim(self, key: str, until: float) -> bool:
        ends_ms = int(max(until, time.time() + 1) * 1000)
        return bool(await self._redis.set(f"smore:once:{key}", b"1", nx=True, pxat=ends_ms))

    async def close(self) -> None:
        await self._redis.aclose()


def single_use_for(settings: Settings) -> SingleUse:
    if not settings.redis_url:
        return MemorySingleUse()
    claims = RedisSingleUse(settings.redis_url)
    instrument_redis(claims._redis, settings)  # a span per command, when tracing is on
    return claims
