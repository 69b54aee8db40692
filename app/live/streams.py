"""The server-sent-event streams of a web process, and how they end when it stops.

A stream never ends by itself, and a server that is told to stop waits for open connections to
close before it runs the application's shutdown. So every stream subscribes through
``LiveStreams.subscription``, and ``stop()`` ends them all: each generator returns, its response
ends cleanly and the browser's EventSource reconnects, to another process or to this one's
successor. ``stop()`` runs when the process receives SIGTERM or SIGINT (chained before the
server's own handler) and again at the application's shutdown. A stream that opens while the
process stops sends its current state and ends.

Behind a balancer or proxy a quiet stream must not look dead: every response (``events`` for
``ServerSentEvent`` content, ``with_pings`` for a byte stream of ready events) sends a comment
line, ``: ping``, whenever its stream has been quiet for ``heartbeat_seconds``, and says
``X-Accel-Buffering: no`` and ``Cache-Control: no-cache``. The stream runs in a task of its own
that hands each message over; the response waits for the next one at most a heartbeat at a time,
so it never sleeps past the stream's end or the process's stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from app.live.fanout import Encode, LiveStream, Own, Rooms, Viewer
from app.observability.metrics import live_stream

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PING = ServerSentEventMessage(comment="ping", data=None)
PING_BYTES = PING.encode()
# What every stream answers with (Litestar's ServerSentEvent sets them too): no cache, and no
# buffering by a proxy in between (nginx reads X-Accel-Buffering; HAProxy does not buffer).
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
T = TypeVar("T")
_END = object()


@dataclass
class _Failed:
    error: Exception


class LiveStreams:
    def __init__(self, channels: ChannelsPlugin, heartbeat_seconds: float = 15.0) -> None:
        self.channels = channels
        self.heartbeat_seconds = heartbeat_seconds
        self.stopping = False
        self._open: set[Subscriber] = set()
        self.rooms = Rooms(channels, heartbeat_seconds)

    async def watch(self, channel: str, encode: Encode, language: str, own: Own | None = None) -> Viewer:
        """A viewer of ``channel`` in its room (``app.live.fanout``), once the room listens: read
        the current state after this, and answer with ``stream``."""
        room = self.rooms.room(channel, encode)
        viewer = Viewer(room, None, language, own)
        room.join(viewer)
        try:
            await asyncio.shield(room.live)
        except BaseException:
            viewer.end()
            raise
        return viewer

    def stream(self, viewer: Viewer, first: list[bytes]) -> LiveStream:
        """The response of ``viewer``: ``first`` (its current state), then every message."""
        return LiveStream(viewer, first, self.stopping)

    def events(self, content: AsyncIterator[ServerSentEventMessage]) -> ServerSentEvent:
        """The SSE response of ``content``, with its heartbeat."""
        return ServerSentEvent(self.with_pings(content, PING), headers=SSE_HEADERS)

    async def with_pings(self, content: AsyncIterator[T], ping: T) -> AsyncIterator[T]:
        """``content``'s messages, and ``ping`` after each ``heartbeat_seconds`` without one.

        ``content`` runs from start to end in one task of its own (its subscription is entered and
        left in the same task), at most one message ahead; when the response ends first (the
        client has gone) that task is cancelled and ``content`` closed there."""
        handover: asyncio.Queue[object] = asyncio.Queue(maxsize=1)

        async def run() -> None:
            try:
                async for message in content:
                    await handover.put(message)
                await handover.put(_END)
            except Exception as exc:  # raised again in the response's task
                await handover.put(_Failed(exc))
            finally:
                aclose = getattr(content, "aclose", None)
                if aclose is not None:
                    await aclose()

        runner = asyncio.create_task(run(), name="live-stream")
        try:
            while True:
                try:
                    async with asyncio.timeout(self.heartbeat_seconds):
                        item = await handover.get()
                except TimeoutError:
                    yield ping
                    continue
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield item  # type: ignore[misc]  # everything else in the queue is one of content's
        finally:
            runner.cancel()
            await asyncio.wait({runner}, timeout=5)

    @property
    def open_count(self) -> int:
        return len(self._open) + self.rooms.viewer_count

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
            log.info("stopping: ending %d live streams", self.open_count)
        self.stopping = True
        for subscriber in list(self._open):
            subscriber.put_nowait(None)
        self.rooms.stop()

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
