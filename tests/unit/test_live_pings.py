"""``LiveStreams.with_pings``: a stream's messages pass through in order, a ping fills each quiet
heartbeat, the stream's end or failure ends the response, and a response that ends first (the
client gone) closes the stream in the task it ran in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from app.live.streams import PING, LiveStreams


def streams(heartbeat: float) -> LiveStreams:
    return LiveStreams(ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True), heartbeat)


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [item async for item in stream]


async def test_quiet_spells_get_pings_and_the_end_ends_it() -> None:
    async def content() -> AsyncIterator[str]:
        yield "state"
        await asyncio.sleep(0.35)
        yield "update"

    got = await asyncio.wait_for(collect(streams(0.1).with_pings(content(), "ping")), 5)
    assert got[0] == "state" and got[-1] == "update"
    assert 2 <= got.count("ping") <= 4 and set(got[1:-1]) == {"ping"}


async def test_a_busy_stream_sends_no_ping() -> None:
    async def content() -> AsyncIterator[str]:
        for n in range(5):
            yield str(n)
            await asyncio.sleep(0.01)

    assert await collect(streams(1.0).with_pings(content(), "ping")) == ["0", "1", "2", "3", "4"]


async def test_a_failing_stream_fails_the_response() -> None:
    async def content() -> AsyncIterator[str]:
        yield "state"
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        await collect(streams(1.0).with_pings(content(), "ping"))


async def test_a_response_closed_first_closes_its_stream_in_the_streams_task() -> None:
    closed: list[asyncio.Task[object] | None] = []
    ran_in: list[asyncio.Task[object] | None] = []

    async def content() -> AsyncIterator[str]:
        ran_in.append(asyncio.current_task())
        try:
            yield "state"
            await asyncio.Event().wait()  # never anything else
            yield "never"
        finally:
            closed.append(asyncio.current_task())

    response = streams(60.0).with_pings(content(), "ping")
    assert await anext(response) == "state"
    await asyncio.wait_for(response.aclose(), 2)  # type: ignore[attr-defined]  # an async generator
    assert closed and closed == ran_in and ran_in[0] is not asyncio.current_task()


def test_the_ping_is_a_comment_line_alone() -> None:
    assert PING.encode() == b": ping\r\n\r\n"
