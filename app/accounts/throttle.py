"""Failed-login throttle, per email and per client address.

Litestar's RateLimitMiddleware counts every request of a client; logins need to count attempts per
email as well as per address, and must hold when many attempts arrive at once. Each attempt takes a
slot per email and per address *before* the password is checked, atomically (one Redis script per
subject with ``REDIS_URL``, an in-process counter otherwise), so parallel guesses cannot slip past
the limit: the failures of the window plus the attempts in flight never exceed it.

An attempt in flight is a token with a short life (``attempt_seconds``). Only a refused password
turns it into a counted failure (``failed``); a correct one forgets the email's failures and frees
the address's slot (``succeeded``); any other end (a server error, a suspended account) frees both
slots without counting (``abandoned``). The token of an attempt whose process died expires after its
short life, so faults never lock a shared address out for the whole window.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import anyio


class Counter(Protocol):
    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> bool: ...
    async def fail(self, subject: str, token: str, window: int) -> None: ...
    async def release(self, subject: str, token: str) -> None: ...
    async def forget(self, subject: str) -> None: ...


class MemoryCounter:
    """Counters for the single embedded process; each operation runs without yielding, so it is
    atomic on the event loop."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}  # subject → (count, window ends)
        self._attempts: dict[str, dict[str, float]] = {}  # subject → token → expires

    def _live_failures(self, subject: str, now: float) -> tuple[int, float]:
        count, expires = self._failures.get(subject, (0, 0.0))
        return (count, expires) if expires > now else (0, 0.0)

    def _live_attempts(self, subject: str, now: float) -> dict[str, float]:
        attempts = {t: e for t, e in self._attempts.get(subject, {}).items() if e > now}
        if attempts:
            self._attempts[subject] = attempts
        else:
            self._attempts.pop(subject, None)
        return attempts

    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> bool:
        now = time.monotonic()
        attempts = self._live_attempts(subject, now)
        if self._live_failures(subject, now)[0] + len(attempts) >= limit:
            return False
        self._attempts[subject] = attempts | {token: now + attempt_seconds}
        return True

    async def fail(self, subject: str, token: str, window: int) -> None:
        now = time.monotonic()
        self._attempts.get(subject, {}).pop(token, None)
        count, expires = self._live_failures(subject, now)
        self._failures[subject] = (count + 1, expires or now + window)

    async def release(self, subject: str, token: str) -> None:
        self._attempts.get(subject, {}).pop(token, None)

    async def forget(self, subject: str) -> None:
        self._failures.pop(subject, None)
        self._attempts.pop(subject, None)


# KEYS: the subject's failure counter, its attempts in flight (a sorted set of tokens scored by
# when their life ends, in ms of the Redis clock). Both keys carry the subject as a hash tag.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local used = tonumber(redis.call('GET', KEYS[1]) or '0') + redis.call('ZCARD', KEYS[2])
if used >= tonumber(ARGV[2]) then
  return 0
end
local life = tonumber(ARGV[3]) * 1000
redis.call('ZADD', KEYS[2], now + life, ARGV[1])
redis.call('PEXPIRE', KEYS[2], life)
return 1
"""
_FAIL = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisCounter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._take = self._redis.register_script(_TAKE)
        self._fail = self._redis.register_script(_FAIL)

    @staticmethod
    def _keys(subject: str) -> list[str]:
        return [f"smore:login:{{{subject}}}:failures", f"smore:login:{{{subject}}}:attempts"]

    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> bool:
        return bool(await self._take(keys=self._keys(subject), args=[token, limit, attempt_seconds]))

    async def fail(self, subject: str, token: str, window: int) -> None:
        await self._fail(keys=self._keys(subject), args=[token, window])

    async def release(self, subject: str, token: str) -> None:
        await self._redis.zrem(self._keys(subject)[1], token)

    async def forget(self, subject: str) -> None:
        await self._redis.delete(*self._keys(subject))

    async def close(self) -> None:
        await self._redis.aclose()


def new_attempt() -> str:
    return uuid.uuid4().hex


class Throttled(Exception):
    """Too many failed attempts for this email or from this address."""


class LoginThrottle:
    def __init__(
        self, counter: Counter, per_email: int, per_address: int, window_seconds: int, attempt_seconds: int = 30
    ) -> None:
        self.counter = counter
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds
        self.attempt_seconds = attempt_seconds

    @staticmethod
    def _subjects(email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        return f"email:{digest}", f"addr:{address}"

    @asynccontextmanager
    async def attempt(self, email: str, address: str, *, failure: type[BaseException]) -> AsyncIterator[None]:
        """One login attempt around the password check. ``failure`` (a refused password) leaving
        the block counts; no exception is a success; any other exception gives the slots back,
        even while the request is being cancelled, and goes on. Raises ``Throttled``, taking
        nothing, when the email or the address is at its limit."""
        token = new_attempt()
        if not await self.acquire(email, address, token):
            raise Throttled
        try:
            yield
        except failure:
            await self.failed(email, address, token)
            raise
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.abandoned(email, address, token)
            raise
        await self.succeeded(email, address, token)

    async def acquire(self, email: str, address: str, attempt: str | None = None) -> bool:
        """Take one slot for this email and one for this address, held by ``attempt`` (a token
        from ``new_attempt``); False, taking nothing, when either is at its limit."""
        attempt = attempt or new_attempt()
        by_email, by_address = self._subjects(email, address)
        if not await self.counter.take(by_email, attempt, self.per_email, self.attempt_seconds):
            return False
        if not await self.counter.take(by_address, attempt, self.per_address, self.attempt_seconds):
            await self.counter.release(by_email, attempt)
            return False
        return True

    async def failed(self, email: str, address: str, attempt: str) -> None:
        """A refused password: the attempt counts as a failure of the email and of the address."""
        by_email, by_address = self._subjects(email, address)
        await self.counter.fail(by_email, attempt, self.window)
        await self.counter.fail(by_address, attempt, self.window)

    async def succeeded(self, email: str, address: str, attempt: str | None = None) -> None:
        """A correct password: forget this email's failures and give the address's slot back."""
        by_email, by_address = self._subjects(email, address)
        await self.counter.forget(by_email)
        if attempt is not None:
            await self.counter.release(by_address, attempt)

    async def abandoned(self, email: str, address: str, attempt: str) -> None:
        """Neither a refused password nor a sign-in (a server error, an account that may not sign
        in): both slots back, nothing counted."""
        by_email, by_address = self._subjects(email, address)
        await self.counter.release(by_email, attempt)
        await self.counter.release(by_address, attempt)
