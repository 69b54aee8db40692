"""An ASGI ``send`` started by hand: a live room writes to thousands of viewers from its own task,
and most writes finish at once (the connection keeps up), so no task is made for them. ``started``
runs a send up to its first wait; a write that has to wait is finished by ``later``, which keeps
its task until it is done."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any

from litestar.types import Message, Send

_running: set[asyncio.Future[Any]] = set()  # the few writes that had to wait, kept until done


def later(work: Coroutine[Any, Any, Any], context: contextvars.Context | None = None) -> None:
    task = asyncio.get_running_loop().create_task(work, context=context)
    _running.add(task)
    task.add_done_callback(_running.discard)


def started(send: Send, message: Message) -> tuple[Coroutine[Any, Any, Any], Any] | None:
    """Start ``send(message)`` here; None once it is done, else the coroutine and what it waits on.
    Raises what ``send`` raises."""
    coro: Coroutine[Any, Any, Any] = send(message)  # type: ignore[assignment]  # ASGI send is a coroutine function
    try:
        return coro, coro.send(None)
    except StopIteration:
        return None


def body(data: bytes) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": True}


class Resume:
    """The rest of a coroutine that was started by hand and suspended on ``waiting``, as an
    awaitable a task can run."""

    __slots__ = ("coro", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coro, self.waiting = coro, waiting

    def __await__(self) -> Generator[Any, None, None]:
        coro, waiting = self.coro, self.waiting
        while True:
            try:
                yield waiting
            except BaseException as exc:  # cancelled while it waited
                try:
                    waiting = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting = coro.send(None)
            except StopIteration:
                return


async def resumed(coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
    await Resume(coro, waiting)
