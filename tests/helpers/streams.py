"""Reading a response that does not end (a server-sent event stream) through the app. The test
client returns a response only once it is complete, so this speaks ASGI to the app on the
client's own loop and hangs up as soon as the body read so far is enough."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio


async def read_stream(
    client: Any, path: str, enough: Callable[[bytearray], bool], limit: float
) -> tuple[dict[str, Any], bytes]:
    """The ``http.response.start`` message and the body of a GET of ``path`` with the client's
    cookies, read until ``enough(body)`` (called in the client's loop after each chunk) or the
    response ends; more than ``limit`` seconds is a failure."""
    scope = client._transport.parse_request(client.build_request("GET", path))
    scope.update(method="GET", http_version="1.1")

    async def run() -> tuple[dict[str, Any], bytes]:
        start: dict[str, Any] = {}
        body = bytearray()
        done = anyio.Event()

        async def receive() -> dict[str, Any]:
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if enough(body) or not message.get("more_body"):
                    done.set()

        with anyio.fail_after(limit):
            await client.app(scope, receive, send)
        return start, bytes(body)

    return await asyncio.to_thread(client.blocking_portal.call, run)


def parse_events(body: str) -> list[tuple[str, str]]:
    """The complete server-sent events of ``body`` as (event, data)."""
    import re

    events = []
    for block in re.split(r"\r?\n\r?\n", body)[:-1]:
        name = re.search(r"^event: ?(.*)$", block, re.M)
        data = "\n".join(m.group(1) for m in re.finditer(r"^data: ?(.*)$", block, re.M))
        if name:
            events.append((name.group(1).strip(), data))
    return events


async def sse_events(
    client: Any,
    path: str,
    until: Callable[[list[tuple[str, str]]], bool],
    *,
    during: Callable[[], Any] | None = None,
    limit: float = 8.0,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The response start and the events of ``path`` (with the client's cookies) up to the first
    list ``until`` accepts; ``during`` (a coroutine function) runs once the first event arrived."""
    first_seen = asyncio.Event()
    loop = asyncio.get_running_loop()

    def enough(body: bytearray) -> bool:
        events = parse_events(body.decode())
        if events:
            loop.call_soon_threadsafe(first_seen.set)
        return until(events)

    task = asyncio.ensure_future(read_stream(client, path, enough, limit))
    if during is not None:
        await asyncio.wait_for(first_seen.wait(), limit)
        await during()
    start, body = await task
    return start, parse_events(body.decode())
