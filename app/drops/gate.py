"""The gate beside the database: it remembers the answer given to each Buy key, so a replay is
answered from memory, and it keeps a copy of each selling product's stock (units left, what each
member holds) for the parts that read it often. With ``REDIS_URL`` it lives in Redis (atomic Lua
scripts, one hash tag per product), shared by every web and worker process; without it an
in-process gate does the same for the single embedded process.

It is never the source of truth. Every press with a key the gate does not know is decided by the
database, which also keeps every answer (rights, and ``press_refusals``), so losing the gate loses
nothing but speed.

Its copy of the stock cannot drift: every change of a product's ``taken_quantity`` raises the
product's ``stock_version`` in the same statement, and the gate is told the change with its version
after the commit (``apply``). A rebuild from the database (``load``) carries the version it read.
The gate applies a change only if it is newer than its last rebuild (a rebuild that read the
database after that change already counts it), and a rebuild only if it is at least as new as every
change it has seen (an older read would erase them); a refused rebuild is read again. Changes and
rebuilds can therefore arrive in any order, from any process, and the copy still ends equal to the
database."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.observability.tracing import instrument_redis

KEY_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StockChange:
    """One committed change of a product's stock, with the version the change gave it."""

    product_id: int
    version: int
    left: int  # change to the units left
    holdings: Mapping[int, int] = field(default_factory=dict)  # member id → change to what they hold


@dataclass(frozen=True)
class GateState:
    left: int
    limit: int
    holdings: dict[int, int]
    version: int  # the newest change or rebuild it has seen
    base: int  # the version its last rebuild read


@dataclass(frozen=True)
class Loaded:
    applied: bool
    before: GateState | None  # what the gate held before a rebuild it applied


class Gate(ABC):
    """What every gate offers; ``load`` drops the members holding nothing and hands the rest to the
    backend's ``_load``."""

    backend: str

    @abstractmethod
    async def lookup(self, product_id: int, key: str) -> str | None: ...
    @abstractmethod
    async def settle(self, product_id: int, answers: Mapping[str, str], change: StockChange | None) -> None: ...
    @abstractmethod
    async def apply(self, change: StockChange) -> bool: ...
    @abstractmethod
    async def forget(self, product_id: int) -> None: ...
    @abstractmethod
    async def state(self, product_id: int) -> GateState | None: ...
    @abstractmethod
    async def close(self) -> None: ...

    async def load(
        self,
        product_id: int,
        *,
        left: int,
        limit: int,
        holdings: Mapping[int, int],
        version: int,
        keys: Mapping[str, str] | None = None,
    ) -> Loaded:
        """Rebuild the product's copy from the database (read at ``version``), remembering ``keys``'
        answers with it; refused when the gate has seen a newer version."""
        held = {member_id: count for member_id, count in holdings.items() if count}
        return await self._load(product_id, left, limit, held, version, keys or {})

    @abstractmethod
    async def _load(
        self, product_id: int, left: int, limit: int, holdings: dict[int, int], version: int, keys: Mapping[str, str]
    ) -> Loaded: ...


@dataclass
class _Stock:
    left: int
    limit: int
    base: int
    version: int
    holdings: dict[int, int]

    def frozen(self) -> GateState:
        return GateState(self.left, self.limit, dict(self.holdings), self.version, self.base)


class MemoryGate(Gate):
    """For one process. No method awaits, and a lock covers each, because the embedded worker
    thread (expiries) uses the same gate as the web loop."""

    backend = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stock: dict[int, _Stock] = {}
        self.answers: dict[tuple[int, str], str] = {}

    async def lookup(self, product_id: int, key: str) -> str | None:
        with self._lock:
            return self.answers.get((product_id, key))

    async def settle(self, product_id: int, answers: Mapping[str, str], change: StockChange | None) -> None:
        with self._lock:
            self._remember(product_id, answers)
            if change is not None:
                self._apply(change)

    def _remember(self, product_id: int, answers: Mapping[str, str]) -> None:
        for key, answer in answers.items():
            self.answers[(product_id, key)] = answer

    async def apply(self, change: StockChange) -> bool:
        with self._lock:
            return self._apply(change)

    def _apply(self, change: StockChange) -> bool:
        stock = self.stock.get(change.product_id)
        if stock is None:
            return False
        stock.version = max(stock.version, change.version)
        if change.version <= stock.base:  # the last rebuild read it already
            return False
        stock.left += change.left
        for member_id, delta in change.holdings.items():
            held = stock.holdings.get(member_id, 0) + delta
            if held:
                stock.holdings[member_id] = held
            else:
                stock.holdings.pop(member_id, None)
        return True

    async def _load(
        self, product_id: int, left: int, limit: int, holdings: dict[int, int], version: int, keys: Mapping[str, str]
    ) -> Loaded:
        with self._lock:
            old = self.stock.get(product_id)
            if old is not None and version < old.version:
                return Loaded(False, old.frozen())
            self.stock[product_id] = _Stock(left, limit, version, version, holdings)
            self._remember(product_id, keys)
            return Loaded(True, old.frozen() if old is not None else None)

    async def forget(self, product_id: int) -> None:
        with self._lock:
            self.stock.pop(product_id, None)
            for key in [k for k in self.answers if k[0] == product_id]:
                del self.answers[key]

    async def state(self, product_id: int) -> GateState | None:
        with self._lock:
            stock = self.stock.get(product_id)
            return stock.frozen() if stock is not None else None

    async def close(self) -> None:
        return None


# KEYS: stock hash, holdings hash. ARGV: version, change of units left, then member id / change pairs.
_APPLY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local v = tonumber(ARGV[1])
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if v > ver then redis.call('HSET', KEYS[1], 'ver', v) end
if v <= tonumber(redis.call('HGET', KEYS[1], 'base') or '0') then return 0 end
redis.call('HINCRBY', KEYS[1], 'left', ARGV[2])
for i = 3, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) == 0 then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
return 1
"""

# KEYS: stock hash, holdings hash. ARGV: version, units left, limit, then member id / count pairs.
# Returns {applied, left before, limit before, version before, base before}.
_LOAD = """
local v = tonumber(ARGV[1])
local old = redis.call('HMGET', KEYS[1], 'left', 'limit', 'ver', 'base')
if old[3] and v < tonumber(old[3]) then return {0, old[1], old[2], old[3], old[4]} end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'left', ARGV[2], 'limit', ARGV[3], 'base', v, 'ver', v)
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return {1, old[1], old[2], old[3], old[4]}
"""


class RedisGate(Gate):
    backend = "redis"

    def __init__(self, url: str, prefix: str = "smore:gate", max_connections: int = 100) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A crowd presses at once: wait for a free connection (a busy gate is still the fastest
        # answer) rather than fail over to the database, which is what the plain pool does past
        # its limit. A Redis that does not answer fails fast on the socket timeouts.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, socket_timeout=2, socket_connect_timeout=2
        )
        self.redis = Redis.from_pool(pool)
        self.prefix = prefix
        self._apply_script = self.redis.register_script(_APPLY)
        self._load_script = self.redis.register_script(_LOAD)

    def _product(self, product_id: int) -> str:
        return f"{self.prefix}:{{{product_id}}}"

    def _stock_keys(self, product_id: int) -> list[str]:
        p = self._product(product_id)
        return [f"{p}:s", f"{p}:m"]

    def _answer_key(self, product_id: int, key: str) -> str:
        return f"{self._product(product_id)}:k:{key}"

    async def lookup(self, product_id: int, key: str) -> str | None:
        stored = await self.redis.get(self._answer_key(product_id, key))
        return stored.decode() if isinstance(stored, bytes) else stored

    @staticmethod
    def _change_args(change: StockChange) -> list[int]:
        args = [change.version, change.left]
        for member_id, delta in change.holdings.items():
            args += [member_id, delta]
        return args

    async def settle(self, product_id: int, answers: Mapping[str, str], change: StockChange | None) -> None:
        """A batch's answers and its change of stock in one round trip (a pipeline, not a
        transaction: each answer and the change are atomic on their own, which is all it needs)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, answer in answers.items():
                pipe.set(self._answer_key(product_id, key), answer, ex=KEY_TTL_SECONDS)
            if change is not None:
                await self._apply_script(
                    keys=self._stock_keys(change.product_id), args=self._change_args(change), client=pipe
                )
            await pipe.execute()

    async def apply(self, change: StockChange) -> bool:
        return bool(await self._apply_script(keys=self._stock_keys(change.product_id), args=self._change_args(change)))

    async def _load(
        self, product_id: int, left: int, limit: int, holdings: dict[int, int], version: int, keys: Mapping[str, str]
    ) -> Loaded:
        args: list[Any] = [version, left, limit]
        for member_id, count in holdings.items():
            args += [member_id, count]
        applied, *old = await self._load_script(keys=self._stock_keys(product_id), args=args)
        before = None
        if old[0] is not None:
            before = GateState(int(old[0]), int(old[1] or 1), {}, int(old[2] or 0), int(old[3] or 0))
        if applied and keys:
            await self.settle(product_id, keys, None)
        return Loaded(bool(applied), before)

    async def forget(self, product_id: int) -> None:
        p = self._product(product_id)
        answers = [k async for k in self.redis.scan_iter(match=f"{p}:k:*", count=1000)]
        await self.redis.delete(*self._stock_keys(product_id), *answers)

    async def state(self, product_id: int) -> GateState | None:
        stock_key, holdings_key = self._stock_keys(product_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(stock_key)
            pipe.hgetall(holdings_key)
            stock, holdings = await pipe.execute()
        if not stock:
            return None
        value = {k.decode(): int(v) for k, v in stock.items()}
        return GateState(
            value["left"],
            value["limit"],
            {int(m): int(n) for m, n in holdings.items()},
            value["ver"],
            value["base"],
        )

    async def close(self) -> None:
        await self.redis.aclose()


_memory_gates: dict[str, MemoryGate] = {}
_redis_gates: dict[tuple[str, int], RedisGate] = {}


def get_gate(redis_url: str | None, scope: str, settings: Any = None) -> Gate:
    """The gate for this process: one in-memory gate per ``scope`` (the app's var folder, shared by
    the web loop and the embedded worker thread), or a Redis gate per event loop (its commands
    traced when the ``settings`` of whoever made it first carry a tracer provider)."""
    if not redis_url:
        return _memory_gates.setdefault(scope, MemoryGate())
    key = (redis_url, id(asyncio.get_running_loop()))
    gate = _redis_gates.get(key)
    if gate is None:
        gate = _redis_gates[key] = RedisGate(redis_url)
        if settings is not None:
            instrument_redis(gate.redis, settings)
    return gate


def gate_for(settings: Any) -> Gate:
    """The gate of the app or worker these settings describe."""
    return get_gate(settings.redis_url, str(settings.var_dir), settings)
