"""The messages waiting in the broker's queues, by actor, for the operations page.

The Redis broker keeps each queue as a list of message ids (``{namespace}:{queue}``, oldest first)
beside a hash of the encoded messages (``{namespace}:{queue}.msgs``); delayed messages wait in the
``{queue}.DQ`` pair until their time, when a worker moves them to the queue. A message that a worker
has fetched is no longer waiting. The StubBroker keeps each queue in memory (``broker.queues``).
Only the first ``sample`` messages of a queue are read for the actors; its length is exact."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.common import dq_name

from app.core.scheduling import QueueLag


@dataclass
class _Actor:
    waiting: int = 0
    oldest_ms: int | None = None


def _waiting_since_ms(message: dramatiq.Message[Any]) -> int:
    """When a message started waiting: its enqueue time, or the end of its delay."""
    eta = message.options.get("eta")
    return max(message.message_timestamp, int(eta)) if eta else message.message_timestamp


def lags(queue: str, encoded: Iterable[bytes | None], queued: int, delayed: int) -> list[QueueLag]:
    """One row per actor found among ``encoded`` (the queue's first messages)."""
    actors: dict[str, _Actor] = {}
    for data in encoded:
        if not data:
            continue  # taken by a worker since the ids were read
        message = dramatiq.Message.decode(data)
        seen = actors.setdefault(message.actor_name, _Actor())
        seen.waiting += 1
        since = _waiting_since_ms(message)
        seen.oldest_ms = since if seen.oldest_ms is None else min(seen.oldest_ms, since)
    if not actors:
        return [QueueLag(queue, "", 0, None, queued, delayed)] if queued or delayed else []
    return [
        QueueLag(queue, actor, seen.waiting, _moment(seen.oldest_ms), queued, delayed)
        for actor, seen in sorted(actors.items())
    ]


def _moment(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def redis_waiting(broker: Any, sample: int) -> list[QueueLag]:
    """Two pipelined round trips: the queues' lengths and first ids, then those messages."""
    namespace, client = broker.namespace, broker.client
    queues = sorted(broker.get_declared_queues())
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{namespace}:{queue}")
            pipe.lrange(f"{namespace}:{queue}", 0, sample - 1)
            pipe.hlen(f"{namespace}:{dq_name(queue)}.msgs")
        heads = pipe.execute()
    read = [(i, queue) for i, queue in enumerate(queues) if heads[3 * i + 1]]  # the queues not empty
    with client.pipeline(transaction=False) as pipe:
        for i, queue in read:
            pipe.hmget(f"{namespace}:{queue}.msgs", heads[3 * i + 1])
        bodies = dict(zip((queue for _, queue in read), pipe.execute() if read else [], strict=True))
    rows: list[QueueLag] = []
    for i, queue in enumerate(queues):
        rows += lags(queue, bodies.get(queue, []), int(heads[3 * i]), int(heads[3 * i + 2]))
    return rows


def stub_waiting(broker: Any, sample: int) -> list[QueueLag]:
    rows: list[QueueLag] = []
    for queue in sorted(broker.get_declared_queues()):
        waiting = broker.queues[queue]
        with waiting.mutex:
            encoded, queued = list(waiting.queue)[:sample], len(waiting.queue)
        delayed = broker.queues.get(dq_name(queue))
        rows += lags(queue, encoded, queued, delayed.qsize() if delayed is not None else 0)
    return rows
