"""Web and worker processes, started as the Procfile starts them, stop within 10 s of SIGTERM while
shoppers hold live streams open and the worker is busy; nothing they were doing is lost.

The signal goes to each whole process group, as systemd and Heroku send it (every process of the
service), so uvicorn's and Dramatiq's child processes get it from the platform and from their
parent both."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select, text

from app.events.outbox import record_event
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from tests.helpers.auctions import live_auction
from tests.helpers.backends import _free_port
from tests.helpers.factories import PASSWORD
from tests.helpers.procfile import needs_redis, start, started
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow
STOP_LIMIT = 10.0  # seconds from SIGTERM until the whole process group is gone


@dataclass
class Stream:
    """One shopper's live stream: when its first event came, and how and when it ended."""

    url: str
    first: asyncio.Event = field(default_factory=asyncio.Event)
    ended_at: float | None = None
    error: BaseException | None = None


async def follow(client: httpx.AsyncClient, stream: Stream) -> None:
    try:
        async with client.stream("GET", stream.url) as response:
            assert response.status_code == 200, response.status_code
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    stream.first.set()
    except (httpx.HTTPError, AssertionError) as exc:
        stream.error = exc
    stream.ended_at = time.monotonic()


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    await client.get("/login")
    form = {"email": email, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]}
    response = await client.post("/login", data=form)
    assert response.status_code == 303, response.text


async def watched(app, members, products) -> tuple[list[Stream], str]:
    """What the shoppers watch: two viewers of a drop, one of an auction, and a signed-in shopper's
    notice badge (whose email is returned). Set up first: the auction's set-up runs every event."""
    product = await products.create(await members.seller())
    auction = await live_auction(app, members, products)
    shopper = await members.create()
    streams = [
        Stream(f"/products/{product.id}/events"),
        Stream(f"/products/{product.id}/events"),
        Stream(f"/auctions/{auction.id}/events"),
        Stream("/me/notifications/events"),
    ]
    return streams, shopper.email


async def open_streams(client: httpx.AsyncClient, streams: list[Stream], email: str) -> list[asyncio.Task]:
    await sign_in(client, email)
    tasks = [asyncio.create_task(follow(client, s)) for s in streams]
    for s in streams:
        await asyncio.wait_for(s.first.wait(), 20)
    return tasks


def assert_streams_ended_cleanly(streams: list[Stream], since: float) -> None:
    """Each stream ended as a complete response soon after the signal (so its EventSource
    reconnects at once), not cut off by the server's own graceful-shutdown timeout."""
    for s in streams:
        assert s.ended_at is not None, f"{s.url} never ended"
        assert s.error is None, f"{s.url} was cut off: {s.error!r}"
        assert s.ended_at - since < 2.5, f"{s.url} ended {s.ended_at - since:.1f} s after SIGTERM"


async def product_events(app, product_ids: list[int] | None = None) -> list[str]:
    query = select(OutboxEvent.id).where(OutboxEvent.topic == "product.changed")
    if product_ids is not None:
        query = query.where(OutboxEvent.aggregate_id.in_(product_ids))
    async with app.state.database.transaction() as db:
        return list((await db.execute(query)).scalars())


async def indexed(app) -> set[str]:
    """Events whose ``search.index`` handler has run."""
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(InboxEntry.event_id).where(InboxEntry.handler == "search.index"))
        return set(rows.scalars())


@needs_redis
async def test_web_and_worker_stop_within_ten_seconds_and_the_worker_loses_nothing(
    app, members, products, settings, tmp_path
):
    async with asyncio.timeout(150):
        streams, email = await watched(app, members, products)
        seller = await members.seller()
        # Two events whose handler will wait on rows this test holds: the worker is mid-message
        # when it is told to stop, with both its threads taken.
        blockers = [await products.create(seller) for _ in range(2)]
        blocked = await product_events(app, [p.id for p in blockers])
        held = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg", "postgresql"))
        await held.execute("BEGIN")
        for event_id in blocked:
            await held.execute(
                "INSERT INTO inbox (event_id, handler, created_at) VALUES ($1, 'search.index', now())", event_id
            )

        port = _free_port()
        web = start("web", settings, tmp_path, PORT=str(port), WEB_CONCURRENCY="2")
        worker = start("worker", settings, tmp_path, WORKER_PROCESSES="1", WORKER_THREADS="2")
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=httpx.Timeout(30, read=None))
        try:
            await started(web, "Application startup complete.", count=2)
            await started(worker, "Worker process is ready for action.")

            async def both_threads_wait() -> bool:
                # asked in a transaction of its own: a transaction sees one snapshot of the statistics
                query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%inbox%'"
                async with app.state.database.transaction() as db:
                    return await db.scalar(text(query)) >= 2

            await wait_for(both_threads_wait, 30, "the worker's two threads to wait on the held rows")
            # a backlog behind them, sent by the web processes' relays
            for _ in range(30):
                await products.create(seller)

            async def relayed() -> bool:
                async with app.state.database.transaction() as db:
                    unsent = (
                        select(func.count())
                        .select_from(OutboxEvent)
                        .where(OutboxEvent.published_at.is_(None), OutboxEvent.handled_at.is_(None))
                    )
                    return await db.scalar(unsent) == 0

            await wait_for(relayed, 30, "the relays to send the backlog")
            tasks = await open_streams(client, streams, email)

            t0 = web.terminate()
            worker.terminate()
            web_took, worker_took = await asyncio.gather(
                web.gone_after(t0, STOP_LIMIT + 5), worker.gone_after(t0, STOP_LIMIT + 5)
            )
            await asyncio.gather(*tasks)
        except BaseException:
            await held.close()  # its uncommitted rows would block every later test's clean-up
            raise
        finally:
            await client.aclose()
            web.kill()
            worker.kill()
        print(f"after SIGTERM: web gone in {web_took:.1f} s, worker gone in {worker_took:.1f} s")
        assert web_took < STOP_LIMIT, web.output()[-3000:]
        assert worker_took < STOP_LIMIT, worker.output()[-3000:]
        assert_streams_ended_cleanly(streams, t0)
        log = worker.output()
        assert log.count("interrupted, it will be retried") == 2, log[-3000:]
        assert "Killing worker process" not in log  # the group's second SIGTERM did not force an exit

        await held.execute("ROLLBACK")
        await held.close()
        async with app.state.database.transaction() as db:
            assert await db.scalar(select(func.count()).select_from(EventFailure)) == 0  # a stop is no failure
        assert not (set(blocked) & await indexed(app))

        # Every message the stopped worker held comes back at once, not when its Redis lease expires.
        second = start("worker", settings, tmp_path, WORKER_PROCESSES="1", WORKER_THREADS="2")
        try:
            everything = set(await product_events(app))

            async def all_indexed() -> bool:
                return everything <= await indexed(app)

            await wait_for(all_indexed, 30, "a new worker to handle every event the stopped one held")
            idle_took = await second.gone_after(second.terminate(), STOP_LIMIT + 5)
        finally:
            second.kill()
        assert idle_took < STOP_LIMIT


async def test_web_stops_within_ten_seconds_with_streams_open_and_its_own_worker_busy(
    app, members, products, settings, tmp_path
):
    """The embedded default (no Redis): live streams over memory channels and an in-process worker
    with a backlog. What that worker had not finished goes back to the outbox, so the relay of the
    next start sends it again."""
    async with asyncio.timeout(120):
        streams, email = await watched(app, members, products)
        product = await products.create(await members.seller())
        async with app.state.database.transaction() as db:
            for _ in range(400):
                await record_event(db, "product.changed", "product", product.id)
        everything = set(await product_events(app, [product.id]))

        port = _free_port()
        web = start("web", settings.with_changes(redis_url=None), tmp_path, PORT=str(port), WEB_CONCURRENCY="2")
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=httpx.Timeout(30, read=None))
        try:
            await started(web, "Application startup complete.", count=2)
            tasks = await open_streams(client, streams, email)

            async def under_way() -> int:
                return len(everything & await indexed(app)) >= 10

            await wait_for(under_way, 30, "the in-process workers to handle events")
            done_before = len(everything & await indexed(app))
            t0 = web.terminate()
            took = await web.gone_after(t0, STOP_LIMIT + 5)
            await asyncio.gather(*tasks)
        finally:
            await client.aclose()
            web.kill()
        print(f"after SIGTERM: web gone in {took:.1f} s; {done_before} of {len(everything)} events handled before")
        assert took < STOP_LIMIT, web.output()[-3000:]
        assert_streams_ended_cleanly(streams, t0)
        assert done_before < len(everything), "the in-process workers were not busy when the signal came"

        handled = await indexed(app)
        async with app.state.database.transaction() as db:
            query = select(OutboxEvent.id).where(OutboxEvent.id.in_(everything), OutboxEvent.published_at.is_(None))
            unsent = set((await db.execute(query)).scalars())
        lost = everything - handled - unsent
        assert not lost, f"{len(lost)} events neither handled nor back in the outbox"
