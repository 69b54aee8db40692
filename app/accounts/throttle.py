"""Failed-login limits an attacker cannot turn against a member.

Refused passwords are counted per (email, client address) pair and per client address: past its
limit, a pair or an address is refused for the rest of the window, the right password included.
So a guesser is stopped, while the member, from any other address, still signs in. Per email alone
nothing is refused: a sign-in for an email with many refused passwords (from anywhere) waits a
growing delay before its password is checked (``rules.login_delay``), which slows guessing spread
over many addresses without locking the member out.

Litestar's RateLimitMiddleware counts every request of a client; logins count refused passwords
and must hold when many attempts arrive at once. Each attempt takes a slot per pair, per address
and per email *before* the password is checked, atomically (one Redis script per subject with
``REDIS_URL``, an in-process counter otherwise), so parallel guesses cannot slip past a limit: the
failures of the window plus the attempts in flight never exceed it (and they count towards the
email's delay).

An attempt in flight is a token with a short life (``attempt_seconds``). Only a refused password
turns it into a counted failure (``failed``); a correct one forgets the pair's and the email's
failures and frees the address's slot (``succeeded``); any other end (a server error, a suspended
account) frees every slot without counting (``abandoned``). The token of an attempt whose process
died expires after its short life, so faults never lock a shared address out for the whole window.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import anyio

from app.accounts import rules


class Counter(Protocol):
    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> int:
        """Hold a slot for ``token``: the failures and attempts in flight before it, or -1 (taking
        nothing) when they reach ``limit`` (0: no limit)."""
        ...

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

    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> int:
        now = time.monotonic()
        attempts = self._live_attempts(subject, now)
        used = self._live_failures(subject, now)[0] + len(attempts)
        if 0 < limit <= used:
            return -1
        self._attempts[subject] = attempts | {token: now + attempt_seconds}
        return used

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
local limit = tonumber(ARGV[2])
if limit > 0 and used >= limit then
  return -1
end
local life = tonumber(ARGV[3]) * 1000
redis.call('ZADD', KEYS[2], now + life, ARGV[1])
redis.call('PEXPIRE', KEYS[2], life)
return used
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

    async def take(self, subject: str, token: str, limit: int, attempt_seconds: int) -> int:
        return int(await self._take(keys=self._keys(subject), args=[token, limit, attempt_seconds]))

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
    """Too many refused passwords for this email from this address, or from this address."""


@dataclass(frozen=True)
class LoginLimits:
    """What ``login_``-prefixed settings of the same names say (``app.settings``)."""

    failures_per_pair: int = 5  # refused passwords per (email, address) in the window
    failures_per_address: int = 20  # refused passwords per address in the window
    failure_window_seconds: int = 15 * 60
    attempt_seconds: int = 30
    # an email's sign-ins wait once it has this many refused passwords in the window…
    slow_after: int = 3
    delay_seconds: float = 1.0  # …this long, doubling with each further one…
    max_delay_seconds: float = 10.0  # …up to this


Wait = Callable[[float], Awaitable[None]]


class LoginThrottle:
    def __init__(self, counter: Counter, limits: LoginLimits) -> None:
        self.counter = counter
        self.limits = limits

    @staticmethod
    def _subjects(email: str, address: str) -> tuple[str, str, str]:
        """The pair's, the address's and the email's subject (emails only as digests)."""

        def digest(text: str) -> str:
            return hashlib.sha256(text.encode()).hexdigest()[:32]

        return f"pair:{digest(email + chr(0) + address)}", f"addr:{address}", f"email:{digest(email)}"

    @asynccontextmanager
    async def attempt(
        self, email: str, address: str, *, failure: type[BaseException], wait: Wait = anyio.sleep
    ) -> AsyncIterator[float]:
        """One login attempt around the password check, giving the seconds it waited (``wait``)
        for its email's delay. ``failure`` (a refused password) leaving the block counts; no
        exception is a success; any other exception gives the slots back, even while the request
        is being cancelled, and goes on. Raises ``Throttled``, taking nothing, when the pair or the
        address is at its limit."""
        token = new_attempt()
        delay = await self.acquire(email, address, token)
        if delay is None:
            raise Throttled
        try:
            if delay:
                await wait(delay)
            yield delay
        except failure:
            await self.failed(email, address, token)
            raise
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.abandoned(email, address, token)
            raise
        await self.succeeded(email, address, token)

    async def acquire(self, email: str, address: str, attempt: str | None = None) -> float | None:
        """Take one slot for the pair, the address and the email, held by ``attempt`` (a token
        from ``new_attempt``): the seconds this attempt is to wait, or None, taking nothing, when
        the pair or the address is at its limit."""
        attempt = attempt or new_attempt()
        limits = self.limits
        pair, by_address, by_email = self._subjects(email, address)
        if await self.counter.take(pair, attempt, limits.failures_per_pair, limits.attempt_seconds) < 0:
            return None
        if await self.counter.take(by_address, attempt, limits.failures_per_address, limits.attempt_seconds) < 0:
            await self.counter.release(pair, attempt)
            return None
        used = await self.counter.take(by_email, attempt, 0, limits.attempt_seconds)
        return rules.login_delay(
            used, free=limits.slow_after, base=limits.delay_seconds, maximum=limits.max_delay_seconds
        )

    async def failed(self, email: str, address: str, attempt: str) -> None:
        """A refused password: the attempt counts as a failure of the pair, the address and the email."""
        for subject in self._subjects(email, address):
            await self.counter.fail(subject, attempt, self.limits.failure_window_seconds)

    async def succeeded(self, email: str, address: str, attempt: str | None = None) -> None:
        """A correct password: forget the pair's and the email's failures, give the address's slot back."""
        pair, by_address, by_email = self._subjects(email, address)
        await self.counter.forget(pair)
        await self.counter.forget(by_email)
        if attempt is not None:
            await self.counter.release(by_address, attempt)

    async def abandoned(self, email: str, address: str, attempt: str) -> None:
        """Neither a refused password nor a sign-in (a server error, an account that may not sign
        in): every slot back, nothing counted."""
        for subject in self._subjects(email, address):
            await self.counter.release(subject, attempt)
