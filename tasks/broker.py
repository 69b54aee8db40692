"""Broker wiring: Redis broker with ``REDIS_URL``, otherwise a StubBroker drained by a worker
thread inside the web process.

Actors are declared against a placeholder broker at import time and re-bound by
``configure_broker`` to the broker of the running app or worker, so importing a module never
connects anywhere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from app.settings import Settings

log = logging.getLogger(__name__)

_placeholder = StubBroker()
_placeholder.emit_after("process_boot")
dramatiq.set_broker(_placeholder)

_ACTORS: list[dramatiq.Actor[Any, Any]] = []


def actor(**options: Any) -> Any:
    """``@actor(...)``: a Dramatiq actor that follows the broker chosen at start-up."""

    def decorate(fn: Any) -> dramatiq.Actor[Any, Any]:
        a: dramatiq.Actor[Any, Any] = dramatiq.actor(fn, broker=_placeholder, **options)
        _ACTORS.append(a)
        return a

    return decorate


@dataclass
class BrokerHandle:
    broker: dramatiq.Broker
    backend: str
    worker: dramatiq.Worker | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def ping(self) -> bool:
        if self.backend == "stub":
            return True
        try:
            self.broker.client.ping()  # type: ignore[attr-defined]
            return True
        except Exception:
            log.warning("broker ping failed", exc_info=True)
            return False

    def start_worker(self) -> None:
        if self.worker is None:
            self.worker = dramatiq.Worker(self.broker, worker_threads=2, worker_timeout=100)
            self.worker.start()

    def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop the in-process worker once the messages it has taken are done (bounded wait).
        Dramatiq's AsyncIO middleware stops its event loop first thing on shutdown, which would
        abandon a handler mid-transaction with its locks held."""
        if self.worker is not None:
            deadline = time.monotonic() + drain_seconds
            while self.worker.work_queue.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.05)
            self.worker.stop(timeout=int(drain_seconds * 1000))
            self.worker = None
        self.broker.close()


def configure_broker(settings: Settings) -> BrokerHandle:
    import tasks.actors  # noqa: F401  (declares every actor)
    from tasks.search import SearchIndexing

    broker: dramatiq.Broker
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=settings.redis_url, namespace="smore")
        backend = "redis"
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
        backend = "stub"
    broker.add_middleware(AsyncIO())
    broker.add_middleware(SearchIndexing(settings))  # the search indexer runs with the worker
    dramatiq.set_broker(broker)
    for a in _ACTORS:
        a.broker = broker
        broker.declare_actor(a)
    return BrokerHandle(broker=broker, backend=backend)
