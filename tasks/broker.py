"""Broker wiring: Redis broker with ``REDIS_URL``, otherwise a StubBroker drained by a worker
thread inside the web process.

Actors are declared against a placeholder broker at import time and re-bound by
``configure_broker`` to the broker of the running app or worker, so importing a module never
connects anywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import dramatiq
from dramatiq.brokers.stub import StubBroker

from app.core.scheduling import QueueLag
from app.observability.tracing import tracer_for
from app.settings import Settings
from tasks.shutdown import INTERRUPT_SECONDS, EventLoop, StopHook, StopInTime, Unfinished
from tasks.tracing import TraceMessages

log = logging.getLogger(__name__)

_placeholder = StubBroker()
_placeholder.emit_after("process_boot")
dramatiq.set_broker(_placeholder)

_ACTORS: list[dramatiq.Actor[Any, Any]] = []


P = ParamSpec("P")
R = TypeVar("R")


def actor(**options: Any) -> Callable[[Callable[P, Awaitable[R]]], dramatiq.Actor[P, R]]:
    """``@actor(...)``: a Dramatiq actor (of a coroutine function) that follows the broker chosen
    at start-up; typed, so the actor keeps its function's parameters."""

    def decorate(fn: Callable[P, Awaitable[R]]) -> dramatiq.Actor[P, R]:
        a = dramatiq.actor(broker=_placeholder, **options)(fn)
        _ACTORS.append(a)
        return a

    return decorate


@dataclass
class BrokerHandle:
    broker: dramatiq.Broker
    backend: str
    loop: EventLoop
    stop_in_time: StopInTime
    unfinished: Unfinished | None = None  # StubBroker only: its messages end with the process
    worker: dramatiq.Worker | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def grace(self) -> float:
        return self.stop_in_time.grace

    def on_stop(self, *hooks: StopHook) -> None:
        """Run ``hooks`` on the actors' event loop when a worker stops, before the loop does."""
        self.loop.on_stop.extend(hooks)

    def unfinished_event_ids(self) -> list[str]:
        """Events whose delivery the in-memory broker still holds (not handled, or being retried)."""
        return [m.args[0] for m in self.unfinished.messages()] if self.unfinished else []

    def ping(self) -> bool:
        if self.backend == "stub":
            return True
        try:
            self.broker.client.ping()  # type: ignore[attr-defined]  # the Redis broker's client, unannotated in dramatiq
            return True
        except Exception:
            log.warning("broker ping failed", exc_info=True)
            return False

    def waiting(self, sample: int) -> list[QueueLag]:
        """The messages waiting in each queue, by actor (``tasks.queue_lag``; blocking)."""
        from tasks.queue_lag import redis_waiting, stub_waiting

        read = stub_waiting if self.backend == "stub" else redis_waiting
        return read(self.broker, sample)

    def start_worker(self) -> None:
        if self.worker is None:
            self.worker = dramatiq.Worker(self.broker, worker_threads=2, worker_timeout=100)
            self.worker.start()

    def stop(self) -> None:
        """Stop the in-process worker within its grace (plus the time an interrupted handler has to
        roll back): the messages it holds, queued ones too (a StubBroker's queue ends with the
        process), may finish until then; a handler still running is interrupted (``StopInTime``)."""
        if self.worker is not None:
            grace = self.grace
            deadline = time.monotonic() + grace
            while self.worker.work_queue.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.05)
            self.stop_in_time.grace = max(0.0, deadline - time.monotonic())
            try:
                self.worker.stop(timeout=int((self.stop_in_time.grace + INTERRUPT_SECONDS) * 1000))
            finally:
                self.stop_in_time.grace = grace
            self.worker = None
        self.broker.close()


def configure_broker(settings: Settings) -> BrokerHandle:
    import tasks.actors  # noqa: F401  (declares every actor)
    from tasks.events import EVENT_ACTORS
    from tasks.heartbeat import Heartbeating
    from tasks.log_context import MessageLogContext
    from tasks.search import SearchIndexing

    broker: dramatiq.Broker
    unfinished = None
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=settings.redis_url, namespace="smore")  # type: ignore[no-untyped-call]  # unannotated in dramatiq
        backend = "redis"
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
        backend = "stub"
        unfinished = Unfinished(*EVENT_ACTORS)
        broker.add_middleware(unfinished)
    # First of all, so the other middleware's lines about a message (Retries') carry its ids too.
    broker.add_middleware(MessageLogContext(EVENT_ACTORS), before=type(broker.middleware[0]))
    # The loop before StopInTime: after-hooks run in reverse, so the prefetched messages are back
    # in their queue before the stop hooks run and the loop stops.
    loop, stop_in_time = EventLoop(), StopInTime(settings.worker_stop_grace_seconds)
    broker.add_middleware(loop)
    broker.add_middleware(stop_in_time)
    broker.add_middleware(SearchIndexing(settings))  # the search indexer runs with the worker
    broker.add_middleware(Heartbeating(settings, loop))  # the operations page lists the worker
    broker.add_middleware(TraceMessages(tracer_for(settings)))  # the trace context travels in the messages
    if settings.metrics:
        from tasks.metrics import QueueMetrics

        broker.add_middleware(QueueMetrics())
    dramatiq.set_broker(broker)
    for a in _ACTORS:
        a.broker = broker
        broker.declare_actor(a)
    return BrokerHandle(broker=broker, backend=backend, loop=loop, stop_in_time=stop_in_time, unfinished=unfinished)
