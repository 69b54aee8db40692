"""The server-sent-event streams of a web process, and how they end when it stops.

A stream never ends by itself, and a server that is told to stop waits for open connections to
close before it runs the application's shutdown. So every stream subscribes through
``LiveStreams.subscription``, and ``stop()`` ends them all: each generator returns, its response
ends cleanly and the browser's EventSource reconnects, to another process or to this one's
successor. ``stop()`` runs when the process receives SIGTERM or SIGINT (chained before the
server's own handler) and again at the application's shutdown. A stream that opens while the
process stops sends its current state and ends.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber

from app.observability.metrics import live_stream

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class LiveStreams:
    def __init__(self, channels: ChannelsPlugin) -> None:
        self.channels = channels
        self.stopping = False
        self._open: set[Subscriber] = set()

    @property
    def open_count(self) -> int:
        return len(self._open)

    @asynccontextmanager
    async def subscription(self, *channels: str, kind: str | None = None) -> AsyncIterator[Subscriber]:
        """A subscriber to ``channels`` whose ``iter_events()`` ends when the process stops, counted
        as a live stream of ``kind`` (by default the first channel's: ``product:12`` is a product's)."""
        async with self.channels.start_subscription(list(channels)) as subscriber:
            self._open.add(subscriber)
            try:
                with live_stream(kind or channels[0]):
                    if self.stopping:
                        subscriber.put_nowait(None)
                    yield subscriber
            finally:
                self._open.discard(subscriber)

    def stop(self) -> None:
        """End every open stream (after the messages already queued for it)."""
        if not self.stopping:
            log.info("stopping: ending %d live streams", len(self._open))
        self.stopping = True
        for subscriber in list(self._open):
            subscriber.put_nowait(None)

    def stop_on_signals(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """Call ``stop`` on the loop when the process receives SIGTERM or SIGINT, then the handler
        that was there before (the server's). Returns a function that puts the previous handlers
        back. Signals reach only the main thread: elsewhere this does nothing."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous: dict[int, Any] = {}

        def handler(signum: int, frame: Any) -> None:
            try:
                loop.call_soon_threadsafe(self.stop)
            except RuntimeError:  # the loop is closed: nothing left to end
                pass
            chained = previous.get(signum)
            if callable(chained):
                chained(signum, frame)
            elif chained == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        for sig in STOP_SIGNALS:
            current = signal.getsignal(sig)
            if current is None:  # installed outside Python: leave it alone
                continue
            previous[sig] = current
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                if signal.getsignal(sig) is handler:
                    signal.signal(sig, old)

        return restore
