"""What the Buy batches did, per product and per second, for the operations page.

Each decided batch is recorded once (never each press): its size, how long its decision took and
how many presses each outcome got. A press answered from the gate's memory (a replayed key) never
reaches a batch: it is noted in this process and written with the others of its product and second
about a second later. With ``REDIS_URL`` the counts live in Redis (one script call per batch, one
hash per product and second under the product's hash tag, kept ``TTL_SECONDS``), so the batches of
every web process add up; without it, in this process's memory (the embedded default has one).

Telemetry never fails a press: a store that does not answer is logged (at most once a minute) and
its counts are lost."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.models.base import utcnow

log = logging.getLogger(__name__)

TTL_SECONDS = 3600
# A replay answered from the gate is written this long after the first one noted (with the rest).
REPLAY_FLUSH_SECONDS = 1.0
# A store that fails is logged at most this often.
WARN_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class BatchRecord:
    """One decided batch of a product's presses."""

    product_id: int
    size: int
    decision_seconds: float
    outcomes: Mapping[str, int]  # outcome ("granted", "sold_out", …, "error") → presses
    at: datetime


@dataclass
class SecondStats:
    """What one product's batches and replays added up to in one second (UTC epoch ``second``)."""

    second: int
    batches: int = 0
    presses: int = 0  # presses decided in batches
    size_max: int = 0
    decision_us: int = 0  # the batches' decision times added up, in microseconds
    decision_us_max: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    replays: dict[str, int] = field(default_factory=dict)  # answered from the gate's memory, by outcome

    def copy(self) -> SecondStats:
        return replace(self, outcomes=dict(self.outcomes), replays=dict(self.replays))

    def add(self, fields: Mapping[str, int]) -> None:
        """Add a record's fields (the layout the Redis hash keeps)."""
        for name, value in fields.items():
            if name.startswith("o:"):
                self.outcomes[name[2:]] = self.outcomes.get(name[2:], 0) + value
            elif name.startswith("r:"):
                self.replays[name[2:]] = self.replays.get(name[2:], 0) + value
            elif name in ("size_max", "decision_us_max"):
                setattr(self, name, max(getattr(self, name), value))
            elif name in ("batches", "presses", "decision_us"):
                setattr(self, name, getattr(self, name) + value)


def epoch_second(at: datetime) -> int:
    return int(at.timestamp())


def batch_fields(record: BatchRecord) -> dict[str, int]:
    """A batch as the counters it adds to its second."""
    micros = max(0, round(record.decision_seconds * 1_000_000))
    fields = {"batches": 1, "presses": record.size, "size_max": record.size}
    fields |= {"decision_us": micros, "decision_us_max": micros}
    return fields | {f"o:{outcome}": n for outcome, n in record.outcomes.items() if n}


class DropTelemetry(ABC):
    """Where batches are recorded and read back; ``record_batch`` and ``note_replay`` never raise."""

    backend: str

    def __init__(self) -> None:
        self._pending: Counter[tuple[int, int, str]] = Counter()  # (product, second, outcome) → replays
        self._flusher: asyncio.Task[None] | None = None
        self._warned_at = -WARN_EVERY_SECONDS

    async def record_batch(self, record: BatchRecord) -> None:
        try:
            await self._add(record.product_id, epoch_second(record.at), batch_fields(record))
        except Exception:
            self._warn("could not record a Buy batch of product %d", record.product_id)

    def note_replay(self, product_id: int, outcome: str, at: datetime | None = None) -> None:
        """A press answered from the gate's memory; written with the others about a second later."""
        self._pending[product_id, epoch_second(at or utcnow()), outcome] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(REPLAY_FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write the replays noted so far."""
        pending, self._pending = self._pending, Counter()
        per_second: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        for (product_id, second, outcome), n in pending.items():
            per_second[product_id, second][f"r:{outcome}"] = n
        for (product_id, second), fields in per_second.items():
            try:
                await self._add(product_id, second, fields)
            except Exception:
                self._warn("could not record the gate's replays of product %d", product_id)

    def _warn(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(message + " (the drop telemetry store fails; further failures quiet for a minute)", *args)

    async def window(self, product_ids: Iterable[int], seconds: int, now: datetime) -> dict[int, list[SecondStats]]:
        """The last ``seconds`` seconds up to ``now`` of each product, oldest first (a second
        without a batch has zero counts)."""
        last = epoch_second(now)
        wanted = range(last - seconds + 1, last + 1)
        return await self._read(list(product_ids), list(wanted))

    @abstractmethod
    async def _add(self, product_id: int, second: int, fields: Mapping[str, int]) -> None: ...
    @abstractmethod
    async def _read(self, product_ids: list[int], seconds: list[int]) -> dict[int, list[SecondStats]]: ...

    async def close(self) -> None:
        return None


class MemoryTelemetry(DropTelemetry):
    """For one process: the embedded web loop and its worker thread share it, under a lock."""

    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seconds: dict[int, dict[int, SecondStats]] = defaultdict(dict)

    def note_replay(self, product_id: int, outcome: str, at: datetime | None = None) -> None:
        """Counted at once: no I/O to save."""
        second = epoch_second(at or utcnow())
        with self._lock:
            self._stats(product_id, second).add({f"r:{outcome}": 1})

    def _stats(self, product_id: int, second: int) -> SecondStats:
        seconds = self._seconds[product_id]
        stats = seconds.get(second)
        if stats is None:
            for old in [s for s in seconds if s <= second - TTL_SECONDS]:
                del seconds[old]
            stats = seconds[second] = SecondStats(second)
        return stats

    async def _add(self, product_id: int, second: int, fields: Mapping[str, int]) -> None:
        with self._lock:
            self._stats(product_id, second).add(fields)

    async def _read(self, product_ids: list[int], seconds: list[int]) -> dict[int, list[SecondStats]]:
        result: dict[int, list[SecondStats]] = {}
        with self._lock:
            for product_id in product_ids:
                kept = self._seconds.get(product_id, {})
                rows = []
                for second in seconds:
                    stats = kept.get(second)
                    rows.append(stats.copy() if stats is not None else SecondStats(second))
                result[product_id] = rows
        return result


# KEYS: the second's hash. ARGV: ttl, then field / value pairs; fields ending in "_max" keep the
# largest value, the others are added.
_ADD = """
for i = 2, #ARGV, 2 do
  local name, value = ARGV[i], tonumber(ARGV[i + 1])
  if string.sub(name, -4) == '_max' then
    if value > tonumber(redis.call('HGET', KEYS[1], name) or '-1') then redis.call('HSET', KEYS[1], name, value) end
  else
    redis.call('HINCRBY', KEYS[1], name, value)
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisTelemetry(DropTelemetry):
    backend = "redis"

    def __init__(self, url: str, prefix: str = "smore:drop-telemetry") -> None:
        super().__init__()
        from redis.asyncio import Redis

        # Short timeouts: a Redis that does not answer costs a batch's settle at most this long.
        self.redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = prefix
        self._add_script = self.redis.register_script(_ADD)

    def key(self, product_id: int, second: int) -> str:
        return f"{self.prefix}:{{{product_id}}}:{second}"

    async def _add(self, product_id: int, second: int, fields: Mapping[str, int]) -> None:
        args: list[Any] = [TTL_SECONDS]
        for name, value in fields.items():
            args += [name, int(value)]
        await self._add_script(keys=[self.key(product_id, second)], args=args)

    async def _read(self, product_ids: list[int], seconds: list[int]) -> dict[int, list[SecondStats]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for product_id in product_ids:
                for second in seconds:
                    pipe.hgetall(self.key(product_id, second))
            hashes = iter(await pipe.execute())
        result: dict[int, list[SecondStats]] = {}
        for product_id in product_ids:
            rows = []
            for second in seconds:
                stats = SecondStats(second)
                stats.add({_text(k): int(v) for k, v in next(hashes).items()})
                rows.append(stats)
            result[product_id] = rows
        return result

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_memory: dict[str, MemoryTelemetry] = {}
_redis: dict[tuple[str, int], RedisTelemetry] = {}


def get_telemetry(redis_url: str | None, scope: str) -> DropTelemetry:
    """This process's store: one in memory per ``scope`` (the app's var folder), or a Redis client
    per event loop (its connections belong to the loop), as ``app.drops.gate.get_gate`` does."""
    if not redis_url:
        return _memory.setdefault(scope, MemoryTelemetry())
    key = (redis_url, id(asyncio.get_running_loop()))
    telemetry = _redis.get(key)
    if telemetry is None:
        telemetry = _redis[key] = RedisTelemetry(redis_url)
    return telemetry


def telemetry_for(settings: Any) -> DropTelemetry:
    """The drop telemetry of the app or worker these settings describe."""
    return get_telemetry(settings.redis_url, str(settings.var_dir))
