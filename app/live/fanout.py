"""One live channel, many viewers, little memory each: the shared streams of product and auction
pages (thousands of viewers of one page).

A process subscribes once per watched channel (``Room``), whatever the number of viewers, and
encodes each message once per language: every viewer in that language is handed the same bytes.
A viewer (``Viewer``) is a small object holding the connection's ASGI ``send``; a message is
written to it straight from the room's task, with no queue, generator or task of the viewer's own
(``send`` of a connection that keeps up finishes without waiting). A connection that cannot keep
up (its server paused writing) gets its own short task to finish that write, and until then keeps
only the newest message: each message is a whole state, so a slow viewer skips states and never
holds the others back or makes the process buffer more than one message for it. A room writes to
its viewers a few milliseconds at a time, so that thousands of them never hold up the process's
requests.

A viewer whose page needs more than the shared fragment (a signed-in bidder's own position, a time
zone of their own) passes ``own``: it turns each message into that viewer's events, in a task of
the viewer's own, again keeping only the newest message while it works.

The HTTP side (``LiveStream``) answers as every stream does (``SSE_HEADERS``, the current state
first, a ``: ping`` after each ``heartbeat_seconds`` without a message) and is handed to
``StreamHandoff``, the wrapper outside the application's middleware: the request's middleware has
run and returned by then (its access line still waits for the stream's end), and only the
connection, its task and the viewer stay for the stream's life. The stream ends when the browser
leaves (the server's ``receive`` says so), when the process stops, or when it is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.live.sending import Resume, body, later, resumed, started
from app.observability.metrics import live_stream

if TYPE_CHECKING:
    from litestar.channels import ChannelsPlugin

log = logging.getLogger(__name__)

Encode = Callable[[str | bytes, str], bytes]  # a channel's message → the shared event in a language
Own = Callable[[str | bytes], Awaitable[list[bytes]]]  # a message → one viewer's own events

HANDOFF_KEY = "smore_live_stream"
_WAITING = object()  # what StreamHandoff puts in the scope: a stream may be handed over
PING = b": ping\r\n\r\n"
_START_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


SLICE_SECONDS = 0.002  # the longest a room writes to its viewers before the loop runs other work
_CHECK_EVERY = 32  # viewers written between looks at the clock


class Viewer:
    """One connection watching a room: its ``send``, language, and at most one message waiting."""

    __slots__ = (
        "__weakref__",
        "busy",
        "context",
        "ended",
        "language",
        "last",
        "newest",
        "own",
        "room",
        "send",
        "started",
    )

    def __init__(self, room: Room, send: Send | None, language: str, own: Own | None) -> None:
        self.room = room
        self.send = send
        self.language = language
        self.own = own
        self.started = False  # the current state has gone out: messages are written, not kept
        self.busy = False  # a write (or the own task) is under way: the newest message waits
        self.newest: str | bytes | None = None  # (own) the raw message; else the encoded event
        self.ended = False
        self.last = 0.0  # when the last event or ping was written (monotonic)
        # ``own`` runs in the viewer's request context (its language and zone), not the room's
        self.context = contextvars.copy_context() if own is not None else None

    # ---------------------------------------------------------------- from the room

    def reading(self) -> None:
        """The current state is read now: what arrived before it is older."""
        self.newest = None

    def offer(self, raw: str | bytes, shared: Callable[[str], bytes]) -> None:
        if self.ended:
            return
        if self.own is not None:
            self.newest = raw
            if self.started and not self.busy:
                self._run_own()
            return
        data = shared(self.language)
        if not self.started or self.busy:
            self.newest = data
            return
        self._write(data)

    def ping(self, now: float) -> None:
        if self.started and not self.busy and not self.ended and now - self.last >= self.room.heartbeat:
            self._write(PING)

    # ---------------------------------------------------------------- writing

    def _write(self, data: bytes) -> None:
        """Write ``data`` now; if the connection makes the write wait, finish it in a task (and
        keep only the newest message meanwhile)."""
        assert self.send is not None
        self.last = time.monotonic()
        try:
            pending = started(self.send, body(data))
        except Exception:
            log.debug("live viewer gone", exc_info=True)
            self.end()
            return
        if pending is not None:
            self.busy = True
            later(self._finish(*pending))

    async def _finish(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        try:
            await Resume(coro, waiting)
            while (data := self.newest) is not None and not self.ended:
                self.newest = None
                assert self.send is not None
                await self.send(body(data))  # type: ignore[arg-type]  # encoded events here
                self.last = time.monotonic()
        except Exception:
            log.debug("live viewer gone", exc_info=True)
            self.end()
        finally:
            self.busy = False

    def _run_own(self) -> None:
        self.busy = True
        later(self._own_loop(), self.context)

    async def _own_loop(self) -> None:
        assert self.own is not None and self.send is not None
        try:
            while (raw := self.newest) is not None and not self.ended:
                self.newest = None
                events = await self.own(raw)
                if events and not self.ended:
                    await self.send(body(b"".join(events)))
                    self.last = time.monotonic()
        except Exception:
            log.exception("a live viewer's own events failed; the stream ends")
            self.end()
        finally:
            self.busy = False

    async def begin(self, first: list[bytes]) -> None:
        """Write the current state, then whatever arrived meanwhile; from now on messages are written."""
        assert self.send is not None
        await self.send(body(b"".join(first)))
        self.last = time.monotonic()
        self.started = True
        if self.newest is not None:
            if self.own is not None:
                self._run_own()
            else:
                data, self.newest = self.newest, None
                self._write(data)  # type: ignore[arg-type]

    def end(self) -> None:
        """End the response (its server then ends the request's wait); the viewer leaves the room."""
        if self.ended:
            return
        self.ended = True
        self.newest = None
        self.room.leave(self)
        if self.send is None:
            return
        try:
            pending = started(self.send, _END)
        except Exception:
            return
        if pending is not None:
            later(resumed(*pending))


class Room:
    """The viewers of one channel in this process, and the one subscription that feeds them."""

    def __init__(self, rooms: Rooms, channel: str, encode: Encode) -> None:
        self.rooms = rooms
        self.channel = channel
        self.encode = encode
        self.heartbeat = rooms.heartbeat_seconds
        self.viewers: set[Viewer] = set()
        self.latest: str | bytes | None = None  # the last message handed to the viewers
        # the message being handed out, and the viewers it has still to reach (see ``deliver``)
        self._round: tuple[str | bytes, Callable[[str], bytes], list[Viewer]] | None = None
        self._next_slice: asyncio.Handle | None = None
        self.live = asyncio.get_running_loop().create_future()  # set once the subscription listens
        # the room outlives the request that opened it: none of that request's context
        self._task = asyncio.get_running_loop().create_task(self._listen(), context=contextvars.Context())
        self._ticker: asyncio.TimerHandle | None = None
        self._tick()

    async def _listen(self) -> None:
        try:
            async with self.rooms.channels.start_subscription([self.channel]) as subscriber:
                if not self.live.done():
                    self.live.set_result(None)
                async for raw in subscriber.iter_events():
                    self.deliver(raw)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the live channel %s failed: its viewers reconnect", self.channel)
            if not self.live.done():
                self.live.set_exception(exc)
            for viewer in list(self.viewers):
                viewer.end()

    def deliver(self, raw: str | bytes) -> None:
        """Hand one message to every viewer, encoded once per language; the same message again (each
        process publishes what it read, and a state often has not changed since) is not sent twice.

        Each write is a system call (about 15 µs): thousands of viewers would hold the event loop for
        tens of milliseconds, and every request of the process would wait that long. So the viewers
        are written in slices of ``SLICE_SECONDS``, the loop running whatever is ready between them;
        a newer message that arrives meanwhile replaces the rest of the older one's round."""
        if raw == self.latest:
            return
        self.latest = raw
        encoded: dict[str, bytes] = {}

        def shared(language: str) -> bytes:
            if (data := encoded.get(language)) is None:
                data = encoded[language] = self.encode(raw, language)
            return data

        self._round = (raw, shared, list(self.viewers))
        if self._next_slice is None:
            self._slice()

    def _slice(self) -> None:
        self._next_slice = None
        if self._round is None:
            return
        raw, shared, pending = self._round
        until = time.perf_counter() + SLICE_SECONDS
        while pending:
            for viewer in pending[-_CHECK_EVERY:]:
                viewer.offer(raw, shared)
            del pending[-_CHECK_EVERY:]
            if time.perf_counter() >= until:
                break
        if pending:
            self._next_slice = asyncio.get_running_loop().call_soon(self._slice)
        else:
            self._round = None

    def _tick(self) -> None:
        now = time.monotonic()
        for viewer in list(self.viewers):
            viewer.ping(now)
        self._ticker = asyncio.get_running_loop().call_later(max(0.05, self.heartbeat / 4), self._tick)

    def join(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers:
            self.close()

    def close(self) -> None:
        if self.rooms.rooms.get(self.channel) is self:
            del self.rooms.rooms[self.channel]
        if self._ticker is not None:
            self._ticker.cancel()
        if self._next_slice is not None:
            self._next_slice.cancel()
        self._round = None
        self._task.cancel()
        for viewer in list(self.viewers):
            viewer.end()


class Rooms:
    """The rooms of a process, by channel."""

    def __init__(self, channels: ChannelsPlugin, heartbeat_seconds: float) -> None:
        self.channels = channels
        self.heartbeat_seconds = heartbeat_seconds
        self.rooms: dict[str, Room] = {}

    def room(self, channel: str, encode: Encode) -> Room:
        if (room := self.rooms.get(channel)) is None:
            room = self.rooms[channel] = Room(self, channel, encode)
        return room

    @property
    def viewer_count(self) -> int:
        return sum(len(room.viewers) for room in self.rooms.values())

    def stop(self) -> None:
        for room in list(self.rooms.values()):
            for viewer in list(room.viewers):
                viewer.end()


class LiveStream:
    """The response of one viewer, an ASGI app: ``first`` (the current state, read after the viewer
    joined its room, so nothing published since is missed), then every message. ``stopping``: the
    process is stopping, the stream ends after the current state."""

    def __init__(self, viewer: Viewer, first: list[bytes], stopping: bool = False) -> None:
        self.viewer = viewer
        self.first = first
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(_START_HEADERS)})
        state = scope.get("state", {})
        if state.get(HANDOFF_KEY) is _WAITING:
            state[HANDOFF_KEY] = self  # StreamHandoff runs it once the middleware has returned
            return
        await self.run(receive, send)

    async def run(self, receive: Receive, send: Send) -> None:
        viewer = self.viewer
        viewer.send = send
        with live_stream(viewer.room.channel):
            try:
                if self.stopping or viewer.ended:
                    if not viewer.ended:
                        await send(body(b"".join(self.first)))
                    viewer.end()
                    return
                await viewer.begin(self.first)
                while (await receive())["type"] != "http.disconnect":
                    pass
            finally:
                if not viewer.ended:
                    viewer.ended = True
                    viewer.room.leave(viewer)


class StreamHandoff:
    """Outside the middleware: runs a ``LiveStream`` the application handed over (see the module
    docstring), so a stream keeps only its connection and viewer for its whole life."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope.get("path", "").endswith("/events"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[HANDOFF_KEY] = _WAITING
        try:
            await self.app(scope, receive, send)
        finally:
            stream = state.pop(HANDOFF_KEY, None)
        if isinstance(stream, LiveStream):
            await stream.run(receive, send)
