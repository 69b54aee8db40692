"""A stream that re-reads what it shows: for pages whose live parts are more than one subject's
shared fragment (the seller's dashboard, product list and stock ledger), in the viewer's own
language and zone. It listens to the channels the hubs publish on, and after a message reads the
committed state afresh in a short session of its own (``render``), at most once per ``interval``
however many messages a crowd causes in between (they are coalesced). No session is held between
reads; the current state goes out first, so a reconnecting browser is never stale."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from litestar.channels import Subscriber
from litestar.response.sse import ServerSentEventMessage

from app.live.streams import LiveStreams

# A stream reads at most this often under a crowd (the first change after a quiet spell goes out
# at once, well within a second).
INTERVAL_SECONDS = 0.5


@dataclass(frozen=True)
class Reading:
    """One read of the page's live state: the events to send, and the channels to listen to from
    now on (a new live subject means a new channel)."""

    messages: Sequence[ServerSentEventMessage]
    channels: Sequence[str]


Render = Callable[[], Awaitable[Reading | None]]


class _Changes:
    """Whether a message arrived since the last read, fed by a task that drains the subscriber."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.arrived = asyncio.Event()
        self.ended = False
        self._task = asyncio.ensure_future(self._pump(subscriber))

    async def _pump(self, subscriber: Subscriber) -> None:
        try:
            async for _message in subscriber.iter_events():
                self.arrived.set()
        finally:
            self.ended = True
            self.arrived.set()

    async def next(self, not_before: float) -> bool:
        """Wait for a change (False: the stream ends), then until ``not_before`` (monotonic)."""
        await self.arrived.wait()
        if self.ended:
            return False
        await asyncio.sleep(max(0.0, not_before - time.monotonic()))
        self.arrived.clear()
        return not self.ended

    def close(self) -> None:
        self._task.cancel()


async def watched(
    streams: LiveStreams,
    channels: Sequence[str],
    render: Render,
    interval: float = INTERVAL_SECONDS,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The events of ``render`` now and after every change heard on the channels (``channels`` at
    first, then those the last reading asked for). Ends when the process stops, or when ``render``
    finds nothing to show any more (None)."""
    listening = list(channels)
    while True:
        async with streams.subscription(*listening, kind="page") as subscriber:  # a page re-read after each change
            changes = _Changes(subscriber)
            try:
                while True:
                    reading = await render()
                    if reading is None:
                        return
                    for message in reading.messages:
                        yield message
                    if sorted(reading.channels) != sorted(listening):
                        listening = list(reading.channels)
                        break  # listen to the new set, then read again
                    if not await changes.next(time.monotonic() + interval):
                        return
            finally:
                changes.close()
