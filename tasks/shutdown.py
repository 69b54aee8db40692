"""Stopping a worker in bounded time, without losing a message.

Dramatiq on its own waits for running handlers for as long as ``--worker-shutdown-timeout`` (ten
minutes by default) and then stops the asyncio loop under them. Here:

- ``StopInTime``: running handlers get ``grace`` seconds to finish; a handler still running then is
  interrupted, so its coroutine is cancelled and its transaction rolls back, and the Retries
  middleware sends its message again (to this or another worker; handlers run once per event id).
  Messages the consumer had fetched but no worker thread had started go straight back to their
  queue instead of waiting for the dead worker's Redis lease to expire.
- ``EventLoop``: the AsyncIO middleware's loop, with ``on_stop`` coroutines (the live hubs publish
  what they hold, connections close) run on it before it stops, and a daemon thread, so a worker
  process that leaves by any other path than the graceful one is not kept alive by the loop.
- ``Unfinished``: with the embedded StubBroker, messages live in memory and end with the process;
  the event deliveries not finished when it stops go back to the outbox (``app/asgi.py``), so the
  relay sends them again on the next start.
- ``absorb_repeated_sigterm``: a second SIGTERM makes a Dramatiq worker process exit at once. A
  platform that signals every process of the group (systemd, Heroku, ``kill -TERM -<pgid>``) and
  Dramatiq's main process, which forwards its own copy, deliver one stop request twice.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
from dramatiq import MessageProxy
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread, set_event_loop_thread
from dramatiq.middleware import AsyncIO, Middleware
from dramatiq.middleware.shutdown import Shutdown
from dramatiq.middleware.threading import raise_thread_exception

log = logging.getLogger(__name__)

# An interrupted coroutine has this long to roll back (Dramatiq's run_coroutine waits 1 s for it).
INTERRUPT_SECONDS = 1.5
# The on-stop coroutines together get this long on the loop.
ON_STOP_SECONDS = 1.5

StopHook = Callable[[], Awaitable[None]]


class StopInTime(Middleware):
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._running: dict[int, MessageProxy] = {}  # worker thread id → its message
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._running[threading.get_ident()] = message

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)

    after_skip_message = after_process_message

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._timer = threading.Timer(max(0.0, self.grace), self._interrupt)
        self._timer.daemon = True
        self._timer.start()

    def _interrupt(self) -> None:
        with self._lock:
            for thread_id, message in self._running.items():
                log.warning(
                    "%s (message %s) still running %.1f s after the stop began: interrupted, it will be retried",
                    message.actor_name,
                    message.message_id,
                    self.grace,
                )
                raise_thread_exception(thread_id, Shutdown)  # type: ignore[no-untyped-call]  # unannotated in dramatiq

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for thread in worker.consumers.values():
            consumer = getattr(thread, "consumer", None)
            cache = getattr(consumer, "message_cache", None)  # the Redis consumer's prefetched messages
            if consumer is None or not cache:
                continue
            messages = [dramatiq.Message.decode(data) for data in cache if data]
            consumer.message_cache = []
            try:
                consumer.requeue(messages)
            except Exception:
                log.warning("could not put %d prefetched messages back", len(messages), exc_info=True)


class EventLoop(AsyncIO):
    def __init__(self) -> None:
        super().__init__()
        self.on_stop: list[StopHook] = []

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None and self.on_stop and thread.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._run_on_stop(), thread.loop)
            try:
                future.result(timeout=ON_STOP_SECONDS)
            except Exception:
                log.warning("the worker's stop hooks did not finish within %.1f s", ON_STOP_SECONDS, exc_info=True)
                future.cancel()
        super().after_worker_shutdown(broker, worker)  # type: ignore[no-untyped-call]  # unannotated in dramatiq

    async def _run_on_stop(self) -> None:
        for hook in self.on_stop:
            try:
                await hook()
            except Exception:
                log.warning("a worker stop hook failed", exc_info=True)


class Unfinished(Middleware):
    """Messages of the ``actor_names`` sent (or sent again by Retries) and not finished yet."""

    def __init__(self, *actor_names: str) -> None:
        self.actor_names = frozenset(actor_names)
        self._messages: dict[str, dramatiq.Message[Any]] = {}
        self._lock = threading.Lock()

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        if message.actor_name in self.actor_names:
            with self._lock:
                self._messages[message.message_id] = message

    def _done(self, message: dramatiq.Message[Any] | MessageProxy) -> None:
        with self._lock:
            self._messages.pop(message.message_id, None)

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is None:
            self._done(message)

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._done(message)  # given up (dead-lettered): no longer waiting

    after_skip_message = after_nack

    def messages(self) -> list[dramatiq.Message[Any]]:
        with self._lock:
            return list(self._messages.values())


def absorb_repeated_sigterm(window: float = 2.0) -> None:
    """Ignore a SIGTERM that follows the first within ``window`` seconds (the same stop request,
    delivered twice); a later one still makes the worker process exit at once."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGTERM)
    if not callable(handler):
        return
    first: list[float] = []

    def once(signum: int, frame: Any) -> None:
        now = time.monotonic()
        if first and now - first[0] < window:
            return
        first.append(now)
        handler(signum, frame)

    signal.signal(signal.SIGTERM, once)
