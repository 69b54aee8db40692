"""Failed-login throttle, per email and per client address.

Litestar's RateLimitMiddleware counts every request of a client; logins need to count attempts per
email as well as per address, and must hold when many attempts arrive at once. Each attempt takes a
slot with one atomic increment *before* the password is checked (Redis ``INCR`` with ``REDIS_URL``,
an in-process counter otherwise), so parallel guesses cannot slip past the limit; a successful login
gives its slots back.
"""

from __future__ import annotations

import hashlib
import time
from typing import Protocol


class Counter(Protocol):
    async def incr(self, key: str, window: int) -> int: ...
    async def decr(self, key: str) -> None: ...
    async def delete(self, key: str) -> None: ...


class MemoryCounter:
    """Counters for the single embedded process; each operation runs without yielding, so it is
    atomic on the event loop."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}

    def _live(self, key: str) -> tuple[int, float]:
        count, expires = self._data.get(key, (0, 0.0))
        return (count, expires) if expires > time.monotonic() else (0, 0.0)

    async def incr(self, key: str, window: int) -> int:
        count, expires = self._live(key)
        self._data[key] = (count + 1, expires or time.monotonic() + window)
        return count + 1

    async def decr(self, key: str) -> None:
        count, expires = self._live(key)
        if count > 1:
            self._data[key] = (count - 1, expires)
        else:
            self._data.pop(key, None)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)


class RedisCounter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)

    async def incr(self, key: str, window: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def decr(self, key: str) -> None:
        await self._redis.decr(key)

    async def delete(self, key: str) -> None:
        await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


class LoginThrottle:
    def __init__(self, counter: Counter, per_email: int, per_address: int, window_seconds: int) -> None:
        self.counter = counter
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds

    @staticmethod
    def _keys(email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        return f"smore:login:email:{digest}", f"smore:login:addr:{address}"

    async def acquire(self, email: str, address: str) -> bool:
        """Take one attempt for this email and address; False when either is over its limit."""
        email_key, addr_key = self._keys(email, address)
        by_email = await self.counter.incr(email_key, self.window)
        by_address = await self.counter.incr(addr_key, self.window)
        return by_email <= self.per_email and by_address <= self.per_address

    async def succeeded(self, email: str, address: str) -> None:
        """A correct password: forget this email's failures and return the address's slot."""
        email_key, addr_key = self._keys(email, address)
        await self.counter.delete(email_key)
        await self.counter.decr(addr_key)
