"""The gate in front of the database: admits a press (units left, member limit, idempotency key)
without touching the database, so the crowd that arrives after the units are gone is answered
from memory. It is advisory: the database makes the final decision, and a press the database
refuses gives its unit back to the gate. With ``REDIS_URL`` one atomic Lua script serves every web
process; without it an in-process gate does the same for the single embedded process. When the
gate has no state for a product (Redis restarted, keys lost) it says UNKNOWN and the press goes to
the database: slower, never wrong. ``load`` rebuilds a product's state from the database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

KEY_TTL_SECONDS = 24 * 3600


class Admission(StrEnum):
    ADMITTED = "admitted"
    SOLD_OUT = "sold_out"
    LIMIT = "limit"
    UNKNOWN = "unknown"
    REPLAY = "replay"


@dataclass(frozen=True)
class GateAnswer:
    admission: Admission
    stored: str = ""


@dataclass(frozen=True)
class Settled:
    """The database's answer to one press, for the gate to remember (and its unit to give back)."""

    product_id: int
    member_id: int
    key: str
    answer: str
    give_back: bool


class Gate(Protocol):
    backend: str

    async def admit(self, product_id: int, member_id: int, key: str) -> GateAnswer: ...
    async def settle_many(self, settled: Sequence[Settled]) -> None: ...
    async def give_back(self, product_id: int, member_id: int) -> None: ...
    async def load(self, product_id: int, left: int, limit: int, holdings: Mapping[int, int]) -> None: ...
    async def forget(self, product_id: int) -> None: ...
    async def close(self) -> None: ...


class MemoryGate:
    """For one process. No method awaits, and a lock covers each, because the embedded worker
    thread (expiries) uses the same gate as the web loop."""

    backend = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.left: dict[int, int] = {}
        self.limit: dict[int, int] = {}
        self.holdings: dict[tuple[int, int], int] = {}
        self.answers: dict[str, str] = {}

    async def admit(self, product_id: int, member_id: int, key: str) -> GateAnswer:
        with self._lock:
            return self._admit(product_id, member_id, key)

    def _admit(self, product_id: int, member_id: int, key: str) -> GateAnswer:
        if (stored := self.answers.get(key)) is not None:
            return GateAnswer(Admission.REPLAY, stored)
        left = self.left.get(product_id)
        if left is None:
            return GateAnswer(Admission.UNKNOWN)
        if left <= 0:
            self.answers[key] = Admission.SOLD_OUT.value
            return GateAnswer(Admission.SOLD_OUT)
        if self.holdings.get((product_id, member_id), 0) >= self.limit.get(product_id, 1):
            self.answers[key] = Admission.LIMIT.value
            return GateAnswer(Admission.LIMIT)
        self.left[product_id] = left - 1
        self.holdings[(product_id, member_id)] = self.holdings.get((product_id, member_id), 0) + 1
        self.answers[key] = "pending"
        return GateAnswer(Admission.ADMITTED)

    async def settle_many(self, settled: Sequence[Settled]) -> None:
        with self._lock:
            for one in settled:
                self.answers[one.key] = one.answer
                if one.give_back:
                    self._give_back(one.product_id, one.member_id)

    async def give_back(self, product_id: int, member_id: int) -> None:
        with self._lock:
            self._give_back(product_id, member_id)

    def _give_back(self, product_id: int, member_id: int) -> None:
        if product_id in self.left:
            self.left[product_id] += 1
        held = self.holdings.get((product_id, member_id), 0)
        if held > 0:
            self.holdings[(product_id, member_id)] = held - 1

    async def load(self, product_id: int, left: int, limit: int, holdings: Mapping[int, int]) -> None:
        with self._lock:
            self.left[product_id] = left
            self.limit[product_id] = limit
            for key in [k for k in self.holdings if k[0] == product_id]:
                del self.holdings[key]
            for member_id, count in holdings.items():
                self.holdings[(product_id, member_id)] = count

    async def forget(self, product_id: int) -> None:
        with self._lock:
            self.left.pop(product_id, None)

    async def close(self) -> None:
        return None


_ADMIT = """
local stored = redis.call('GET', KEYS[4])
if stored then return {'replay', stored} end
local left = redis.call('GET', KEYS[1])
if not left then return {'unknown', ''} end
if tonumber(left) <= 0 then
  redis.call('SET', KEYS[4], 'sold_out', 'EX', ARGV[1])
  return {'sold_out', ''}
end
local limit = tonumber(redis.call('GET', KEYS[2]) or '1')
local mine = tonumber(redis.call('GET', KEYS[3]) or '0')
if mine >= limit then
  redis.call('SET', KEYS[4], 'limit', 'EX', ARGV[1])
  return {'limit', ''}
end
redis.call('DECR', KEYS[1])
redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[4], 'pending', 'EX', ARGV[1])
return {'admitted', ''}
"""

_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCR', KEYS[1]) end
local mine = tonumber(redis.call('GET', KEYS[2]) or '0')
if mine > 0 then redis.call('DECR', KEYS[2]) end
return 1
"""


class RedisGate:
    backend = "redis"

    def __init__(self, url: str, prefix: str = "smore:gate", max_connections: int = 100) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A crowd presses at once: wait for a free connection (a busy gate is still the fastest
        # answer) rather than fail the press over to the database, which is what the plain pool
        # does past its limit. A Redis that does not answer fails fast on the socket timeouts.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, socket_timeout=2, socket_connect_timeout=2
        )
        self.redis = Redis.from_pool(pool)
        self.prefix = prefix
        self._admit = self.redis.register_script(_ADMIT)
        self._give_back = self.redis.register_script(_GIVE_BACK)

    def _keys(self, product_id: int, member_id: int, key: str) -> list[str]:
        p = f"{self.prefix}:{{{product_id}}}"
        return [f"{p}:left", f"{p}:limit", f"{p}:m:{member_id}", f"{self.prefix}:key:{key}"]

    async def admit(self, product_id: int, member_id: int, key: str) -> GateAnswer:
        kind, stored = await self._admit(keys=self._keys(product_id, member_id, key), args=[KEY_TTL_SECONDS])
        return GateAnswer(Admission(kind.decode()), stored.decode())

    async def settle_many(self, settled: Sequence[Settled]) -> None:
        """A whole batch of answers in one round trip (a pipeline, not a transaction: each answer
        and each give-back is atomic on its own, which is all the gate needs)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for one in settled:
                keys = self._keys(one.product_id, one.member_id, one.key)
                pipe.set(keys[3], one.answer, ex=KEY_TTL_SECONDS)
                if one.give_back:
                    await self._give_back(keys=keys[0:1] + keys[2:3], client=pipe)
            await pipe.execute()

    async def give_back(self, product_id: int, member_id: int) -> None:
        keys = self._keys(product_id, member_id, "-")
        await self._give_back(keys=keys[0:1] + keys[2:3])

    async def load(self, product_id: int, left: int, limit: int, holdings: Mapping[int, int]) -> None:
        p = f"{self.prefix}:{{{product_id}}}"
        old = [k async for k in self.redis.scan_iter(match=f"{p}:m:*", count=500)]
        async with self.redis.pipeline(transaction=True) as pipe:
            if old:
                pipe.delete(*old)
            pipe.set(f"{p}:left", left)
            pipe.set(f"{p}:limit", limit)
            for member_id, count in holdings.items():
                pipe.set(f"{p}:m:{member_id}", count)
            await pipe.execute()

    async def forget(self, product_id: int) -> None:
        await self.redis.delete(f"{self.prefix}:{{{product_id}}}:left")

    async def close(self) -> None:
        await self.redis.aclose()


_memory_gates: dict[str, MemoryGate] = {}
_redis_gates: dict[tuple[str, int], RedisGate] = {}


def get_gate(redis_url: str | None, scope: str) -> Gate:
    """The gate for this process: one in-memory gate per ``scope`` (the app's var folder, shared by
    the web loop and the embedded worker thread), or a Redis gate per event loop."""
    if not redis_url:
        return _memory_gates.setdefault(scope, MemoryGate())
    key = (redis_url, id(asyncio.get_running_loop()))
    gate = _redis_gates.get(key)
    if gate is None:
        gate = _redis_gates[key] = RedisGate(redis_url)
    return gate
