"""Publishing live state. Services say "product N changed" (or auction N, a waiting room's line,
or member N's inbox) after their commit (``touch``); a hub per kind coalesces bursts (one refresh
per subject per 100 ms), reads the committed state in a short session of its own and publishes a
ready-to-swap HTML fragment to the subject's channel (``product:{id}``, ``auction:{id}``,
``line:{id}``, ``member:{id}``). Reading the state at publish time, instead of sending what one
transaction saw, means concurrent commits can never leave a stale number on screen.

In a web process the hub publishes through Litestar's channels plugin (memory, or Redis pub/sub
fanned out to every web process). A separate worker process publishes through the same Redis
channels backend. ``touch`` is thread-safe: the embedded worker thread calls it too."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, using
from app.db import Database, after_commit
from app.drops.view import stock_state

log = logging.getLogger(__name__)

Publish = Callable[[str, str], Awaitable[None]]
Reader = Callable[[AsyncSession, int], Awaitable[dict[str, Any] | None]]
ManyReader = Callable[[AsyncSession, list[int]], Awaitable[dict[int, dict[str, Any]]]]

COALESCE_SECONDS = 0.1
# A stopping process waits this long for the last live updates to go out.
CLOSE_SECONDS = 1.0


def channel_for(product_id: int) -> str:
    return f"product:{product_id}"


def encode(event: str, html: str, **extra: Any) -> str:
    return json.dumps({"event": event, "html": html, **extra})


def html_for(message: dict[str, Any], language: str) -> str:
    """The fragment of a hub message in ``language`` (every message carries each language's)."""
    return str(message.get(f"html_{language}") or message["html"])


@functools.lru_cache(maxsize=64)
def encode_shared(raw: str | bytes, language: str) -> bytes:
    """A hub message as the server-sent event every viewer in ``language`` gets (its ``event``, its
    fragment in that language): made once per process, message and language."""
    message = json.loads(raw)
    return ServerSentEventMessage(event=message["event"], data=html_for(message, language)).encode()


def _variants(render: Callable[[dict[str, Any]], str], state: dict[str, Any]) -> dict[str, str]:
    """The fragment in every language (``html`` is the default language's), times in the shop's
    zone; the page a viewer opens shows times in their own zone."""
    out: dict[str, str] = {}
    for language in LANGUAGES:
        with using(language):
            out["html" if language == DEFAULT_LANGUAGE else f"html_{language}"] = render(state)
    return out


@dataclass(eq=False)
class LiveHub:
    """The hub of one kind of subject: how its state is read (``read``, or ``read_many`` for a batch),
    rendered and named (``channel``, the message's ``event`` and its ``extra`` fields)."""

    source: Database | Callable[[], Database]  # the database, or how to reach it once it exists
    publish: Publish
    render: Callable[[dict[str, Any]], str]
    _: KW_ONLY
    read: Reader = stock_state
    channel: Callable[[int], str] = channel_for
    event: str = "stock"
    extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    read_many: ManyReader | None = None
    # How long touches gather before one read and publish of everything touched meanwhile.
    coalesce: float = COALESCE_SECONDS
    loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    closed: bool = field(default=False, init=False)
    _pending: set[int] = field(default_factory=set, init=False)
    _flush_due: bool = field(default=False, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def touch(self, *product_ids: int) -> None:
        loop = self.loop
        if loop is None:
            try:  # a worker process: publish from the loop its actors run on
                loop = self.loop = asyncio.get_running_loop()
            except RuntimeError:
                return
        if loop.is_closed():
            return
        for product_id in product_ids:
            loop.call_soon_threadsafe(self._schedule, product_id)

    def _schedule(self, subject_id: int) -> None:
        self._pending.add(subject_id)
        if not self._flush_due:  # one refresh per ``coalesce`` for everything touched meanwhile
            self._flush_due = True
            assert self.loop is not None
            self.loop.call_later(self.coalesce, self._start)

    def _start(self) -> None:
        self._flush_due = False
        subjects, self._pending = self._pending, set()
        if self.closed or not subjects:  # shutting down: the channels are gone
            return
        task = asyncio.ensure_future(self._publish(sorted(subjects)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, subject_ids: list[int]) -> None:
        """Read every touched subject in one short transaction, then publish each."""
        try:
            async with self.database().transaction() as db:
                if self.read_many is not None:
                    states = await self.read_many(db, subject_ids)
                else:
                    states = {i: s for i in subject_ids if (s := await self.read(db, i)) is not None}
        except Exception:
            log.exception("could not read the live state of %d subjects", len(subject_ids))
            return
        for subject_id, state in states.items():
            try:
                await self.publish(self.channel(subject_id), self._encode(state))
            except Exception:
                log.exception("could not publish the live state of %s", self.channel(subject_id))

    def _encode(self, state: dict[str, Any]) -> str:
        extra = self.extra(state) if self.extra else {}
        return json.dumps({"event": self.event, **_variants(self.render, state), **extra})

    async def message(self, subject_id: int) -> str | None:
        """The subject's current state as the message its channel carries (None: no such subject)."""
        async with self.database().transaction() as db:
            state = await self.read(db, subject_id)
        return None if state is None else self._encode(state)

    def database(self) -> Database:
        return self.source if isinstance(self.source, Database) else self.source()

    async def current(self, subject_id: int) -> str | None:
        async with self.database().transaction() as db:
            return await self.current_in(db, subject_id)

    async def current_in(self, db: AsyncSession, subject_id: int) -> str | None:
        """The subject's state read with a session the caller holds already: a request that has
        its own must not wait for a second connection (a crowd of them would hold every pooled
        connection while each waits for another)."""
        state = await self.read(db, subject_id)
        return None if state is None else self.render(state)

    async def close(self) -> None:
        """Publish what was touched and not sent yet, then take no more; bounded, because a
        stopping process must not wait on a slow database."""
        if self.loop is not None and asyncio.get_running_loop() is self.loop:
            self._start()
        self.closed = True
        try:
            await asyncio.wait_for(self.drain(), CLOSE_SECONDS)
        except TimeoutError:
            log.warning("live updates of %s not published within %.1f s of the stop", self.event, CLOSE_SECONDS)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


_hubs: dict[str, LiveHub] = {}


def set_hubs(hubs: dict[str, LiveHub] | None) -> None:
    _hubs.clear()
    _hubs.update(hubs or {})


def touch(*product_ids: int) -> None:
    """After a commit that changed stock or state: every viewer gets the new state."""
    touch_kind("product", *product_ids)


# Hubs whose subjects share their ids with another kind's and show part of its state: a waiting
# room's line shows its product's units and sale state, so touching a product touches its line
# too (a product sold another way has no line, and its line hub publishes nothing).
FOLLOWERS = {"product": ("line",)}


def touch_kind(kind: str, *subject_ids: int) -> None:
    for name in (kind, *FOLLOWERS.get(kind, ())):
        if (hub := _hubs.get(name)) is not None:
            hub.touch(*subject_ids)


def channel_prefix(redis_url: str) -> str:
    """Pub/sub channels are shared by every database of a Redis server: name ours after the
    database the URL picks, so two deployments (or a test run) on one server never hear each other."""
    from redis.asyncio.connection import parse_url

    return f"SMORE_{parse_url(redis_url).get('db', 0)}"


class RedisPublisher:
    """Publishes through the same Redis channels backend the web processes subscribe with (one
    client per event loop: a separate worker process has no channels plugin)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._backends: dict[int, tuple[Any, Any]] = {}  # loop id → (channels backend, its Redis client)

    async def __call__(self, channel: str, data: str) -> None:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._backends:
            redis = Redis.from_url(self.redis_url)
            backend = RedisChannelsPubSubBackend(redis=redis, key_prefix=channel_prefix(self.redis_url))
            self._backends[loop_id] = (backend, redis)
        await self._backends[loop_id][0].publish(data.encode(), [channel])

    async def aclose(self) -> None:
        """Close the running loop's client."""
        _, redis = self._backends.pop(id(asyncio.get_running_loop()), (None, None))
        if redis is not None:
            await redis.aclose()


def worker_hub(redis_url: str, database: Callable[[], Database]) -> LiveHub:
    """The product hub of a separate worker process (see ``worker_hubs``)."""
    return worker_hubs(redis_url, database)["product"]


def worker_hubs(
    redis_url: str, database: Callable[[], Database], publisher: RedisPublisher | None = None
) -> dict[str, LiveHub]:
    """The hubs of a separate worker process, publishing through ``publisher``."""
    from app.live.hubs import build_hubs
    from app.web.templating import build_template_config

    publish = publisher or RedisPublisher(redis_url)
    return build_hubs(database, publish, build_template_config().engine_instance.engine)


async def close_hubs(hubs: Iterable[LiveHub]) -> None:
    """Close every hub at once (each publishes what it holds, within ``CLOSE_SECONDS``)."""
    await asyncio.gather(*(hub.close() for hub in hubs))


def touch_after_commit(db: AsyncSession, kind: str, *subject_ids: int) -> None:
    """Touch the ``kind`` hub once the unit of work of session ``db`` commits (nothing if it rolls
    back): an after-commit effect of the unit of work (``app.db.after_commit``)."""
    if not subject_ids:
        return

    async def touch_subjects() -> None:
        touch_kind(kind, *subject_ids)

    after_commit(db, touch_subjects)
