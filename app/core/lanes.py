"""Work queued per key in this process and done in batches, in order of arrival.

The first item for an idle key starts a task that takes up to ``max_batch`` queued items, hands
them to ``run`` and answers each item's waiter, again and again until the key's queue is empty;
items that arrive while a batch runs wait for the next one. A crowd of requests for one product
or one auction thus costs a handful of short transactions instead of one each, all queued on the
same row lock. ``run`` returns an answer per item, in order (a result, or an exception for that
item alone); if it raises, every item of the batch hears the error. ``after`` runs once the batch's
waiters have their answers; ``observe`` is told each batch's size and the seconds ``run`` took.

With ``late=True``, ``run`` is handed not the items but ``take``, which it calls when it is ready
to decide (a batch that first waits for a row lock takes, once it holds it, every item queued
meanwhile): the first call takes the batch, later calls give the same items. Items are taken for
it if ``run`` fails before taking them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app.core.line import leave_the_line

T = TypeVar("T")
R = TypeVar("R")

Run = Callable[[Any, list[T]], Awaitable[list[R | Exception]]]
LateRun = Callable[[Any, Callable[[], list[T]]], Awaitable[list[R | Exception]]]
After = Callable[[Any, list[T], list[R | Exception]], Awaitable[None]]
Observe = Callable[[int, float], None]


@dataclass
class _Lane(Generic[T, R]):
    queue: list[tuple[T, asyncio.Future[R]]] = field(default_factory=list)
    running: bool = False


class Lanes(Generic[T, R]):
    def __init__(
        self,
        run: Run[T, R] | LateRun[T, R],
        *,
        max_batch: int,
        after: After[T, R] | None = None,
        observe: Observe | None = None,
        late: bool = False,
    ) -> None:
        self.run = run
        self.after = after
        self.observe = observe
        self.max_batch = max_batch
        self.late = late
        self._lanes: dict[Hashable, _Lane[T, R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def submit(self, key: Hashable, item: T) -> R:
        """Queue ``item`` for ``key``'s next batch and wait for its answer (outside the press
        line: the request's place in it goes to the next in line)."""
        leave_the_line()
        lane = self._lanes.setdefault(key, _Lane())
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        lane.queue.append((item, future))
        if not lane.running:
            lane.running = True
            task = asyncio.create_task(self._drain(key, lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, key: Hashable, lane: _Lane[T, R]) -> None:
        try:
            while lane.queue:
                batch: list[tuple[T, asyncio.Future[R]]] = []
                items: list[T] = []
                taken = False

                def take() -> list[T]:
                    nonlocal batch, items, taken
                    if not taken:
                        taken = True
                        batch, lane.queue = lane.queue[: self.max_batch], lane.queue[self.max_batch :]
                        items = [item for item, _ in batch]
                    return items

                outcomes: list[R | Exception]
                started = time.perf_counter()
                try:
                    if self.late:
                        outcomes = await self.run(key, take)  # type: ignore[arg-type]
                    else:
                        outcomes = await self.run(key, take())  # type: ignore[arg-type]
                except Exception as exc:  # the database failed, say: every item hears it
                    outcomes = [exc] * len(take())
                if self.observe is not None:
                    self.observe(len(items), time.perf_counter() - started)
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                if self.after is not None:
                    await self.after(key, items, outcomes)
        finally:
            lane.running = False
            for _, future in lane.queue:  # only when this task itself was cancelled (shutdown)
                if not future.done():
                    future.set_exception(RuntimeError("this request was not decided"))
            lane.queue = []
