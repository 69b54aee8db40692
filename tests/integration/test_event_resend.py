"""A message the broker loses is sent again: an event not handled within ``event_resend_seconds``
is re-sent by the relay (with backoff) until every handler has run or is parked, and handled once
whatever the number of deliveries. Runs on the app's real broker: StubBroker with the in-process
worker, or Redis with a real ``FLUSHDB`` between the send and the handling."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
from dramatiq.middleware import Middleware, SkipMessage
from sqlalchemy import select

from app.admin.event_service import EventFailureService
from app.db import Database
from app.events import handlers as registry
from app.events.dispatch import dispatch, mark_handled
from app.events.handlers import on_private
from app.events.outbox import record_event
from app.events.relay import RESEND_MAX_SECONDS, relay_once, resend_delay
from app.models.base import utcnow
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from tasks.events import enqueue_event, handle_event
from tests.helpers.backends import TEST_REDIS_URL
from tests.helpers.config import with_settings
from tests.helpers.waiting import wait_for

RESEND = 0.3


@pytest.fixture
def topic() -> Iterator[str]:
    name = f"test.resend.{uuid.uuid4().hex[:12]}"
    yield name
    registry._HANDLERS.pop(name, None)


class Calls:
    """A handler that records the events it ran for (from the worker's threads)."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.events: list[str] = []
        self.lock = threading.Lock()

    async def __call__(self, db, event) -> None:
        with self.lock:
            self.events.append(event.id)
        if self.fails:
            raise RuntimeError("the handler fails")


class Deliveries(Middleware):
    """Watches ``handle_event`` messages of one topic on the real broker: records each delivery
    and acknowledges the first ``drop`` of them without running them, as a broker that lost them."""

    def __init__(self, topic: str, drop: int = 0) -> None:
        self.topic = topic
        self.drop = drop
        self.seen: list[tuple[str, str]] = []  # (message id, "dropped" | "ran")
        self.finished: set[str] = set()
        self.lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.actor_name != handle_event.actor_name or message.args[1] != self.topic:
            return
        with self.lock:
            dropped = sum(1 for _, what in self.seen if what == "dropped") < self.drop
            self.seen.append((message.message_id, "dropped" if dropped else "ran"))
        if dropped:
            raise SkipMessage("lost by the broker")

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message, **_: object) -> None:
        with self.lock:
            self.finished.add(message.message_id)

    after_skip_message = after_process_message

    def outcomes(self) -> list[str]:
        with self.lock:
            return [what for _, what in self.seen]


def watch(app, topic: str, drop: int = 0) -> tuple[Calls, Deliveries]:
    """A handler for ``topic`` that records its runs, and the broker's deliveries of its messages
    (the first ``drop`` of them lost)."""
    calls = on_private(topic, name="tests.resend.calls")(Calls())
    deliveries = Deliveries(topic, drop)
    app.state.broker.broker.add_middleware(deliveries)
    return calls, deliveries


async def stored(database: Database, event_id: str) -> OutboxEvent:
    async with database.transaction() as db:
        event = await db.get(OutboxEvent, event_id)
        assert event is not None
        return event


async def lose_queued_messages(app) -> None:
    """What a Redis restart does to a Redis that keeps nothing on disk (or the stub's equivalent)."""
    if app.state.broker.backend == "redis":
        from redis.asyncio import Redis

        redis = Redis.from_url(TEST_REDIS_URL)
        try:
            assert await redis.llen("smore:events") == 1  # the message is waiting in its queue
            await redis.flushdb()
        finally:
            await redis.aclose()
    else:
        assert app.state.broker.broker.queues["events"].qsize() == 1
        app.state.broker.broker.flush_all()


def test_the_wait_doubles_per_send_up_to_a_ceiling():
    assert [resend_delay(30, n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert resend_delay(30, 40) == timedelta(seconds=RESEND_MAX_SECONDS)
    assert resend_delay(2 * RESEND_MAX_SECONDS, 3) == timedelta(seconds=2 * RESEND_MAX_SECONDS)


async def test_an_unhandled_event_is_sent_again_with_backoff_and_never_once_handled(app, topic, settings):
    database = Database(settings.with_changes(event_resend_seconds=10))
    try:
        calls = on_private(topic, name="tests.resend.calls")(Calls())
        async with database.transaction() as db:
            event_id = (await record_event(db, topic, "test", 1)).id
        sent: list[str] = []
        t0 = utcnow()
        assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0) == 1
        # sends 2, 3, 4 at 10 s, then 20 s, then 40 s after the previous one; never before
        for due in (10, 30, 70):
            assert (
                await relay_once(database, lambda eid, _: sent.append(eid), now=t0 + timedelta(seconds=due - 0.5)) == 0
            )
            assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0 + timedelta(seconds=due)) == 1
        assert sent == [event_id] * 4
        event = await stored(database, event_id)
        assert event.publish_attempts == 4 and event.handled_at is None
        assert event.resend_at == t0 + timedelta(seconds=70 + 80)
        assert event.published_at == t0  # the first send

        assert await dispatch(database, event_id) == ["tests.resend.calls"]
        assert (await stored(database, event_id)).handled_at is not None
        assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0 + timedelta(days=30)) == 0
        assert await dispatch(database, event_id) == []  # a late duplicate: one read, nothing runs
        assert sent == [event_id] * 4 and calls.events == [event_id]
    finally:
        await database.dispose()


async def test_a_parked_event_is_not_sent_again_until_an_admin_retries_it(app, topic, settings):
    database = Database(settings.with_changes(event_resend_seconds=10, event_park_after=2))
    try:
        on_private(topic, name="tests.resend.steady")(Calls())
        failing = on_private(topic, name="tests.resend.failing")(Calls(fails=True))
        async with database.transaction() as db:
            event_id = (await record_event(db, topic, "test", 1)).id
        sent: list[str] = []
        t0 = utcnow()
        assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0) == 1
        with pytest.raises(RuntimeError):
            await dispatch(database, event_id)
        assert (await stored(database, event_id)).handled_at is None  # a handler is still retried
        assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0 + timedelta(seconds=10)) == 1
        assert await dispatch(database, event_id) == []  # the second failure parks it
        assert (await stored(database, event_id)).handled_at is not None
        assert await relay_once(database, lambda eid, _: sent.append(eid), now=t0 + timedelta(days=30)) == 0
        assert len(sent) == 2 and len(failing.events) == 2

        failing.fails = False
        async with database.transaction() as db:
            await EventFailureService(db).retry(event_id, "tests.resend.failing")
        event = await stored(database, event_id)
        assert event.handled_at is None and event.publish_attempts == 0
        async with database.transaction() as db:  # a delivery that saw it parked, finishing late
            await db.execute(mark_handled(event_id))
        assert (await stored(database, event_id)).handled_at is None  # the retry is not lost
        assert await relay_once(database, lambda eid, _: sent.append(eid)) == 1  # the relay sends the retry
        assert await dispatch(database, event_id) == ["tests.resend.failing"]
        assert (await stored(database, event_id)).handled_at is not None
        async with database.transaction() as db:
            assert await db.get(EventFailure, (event_id, "tests.resend.failing")) is None
    finally:
        await database.dispose()


@with_settings("relay-driven-by-the-test", event_resend_seconds=RESEND, background_jobs=False, in_process_worker=False)
async def test_an_event_whose_message_the_broker_lost_is_handled_once_after_the_resend_time(client, app, topic):
    async with asyncio.timeout(60):
        database = app.state.database
        calls, deliveries = watch(app, topic)
        async with database.transaction() as db:
            event_id = (await record_event(db, topic, "test", 1)).id
        assert await relay_once(database, enqueue_event) == 1
        await lose_queued_messages(app)
        app.state.broker.start_worker()
        assert await relay_once(database, enqueue_event) == 0  # not due yet
        await asyncio.sleep(RESEND + 0.1)
        assert calls.events == [] and deliveries.outcomes() == []  # the message is gone for good

        assert await relay_once(database, enqueue_event) == 1  # not handled in time: sent again
        await wait_for(lambda: _handled(database, event_id), 15, "the resent event to be handled")
        assert calls.events == [event_id]

        # a resend that crossed the handling (another relay read the row just before) runs nothing
        duplicate = handle_event.send(event_id, topic)
        await wait_for(lambda: _delivered(deliveries, duplicate.message_id), 15, "the duplicate to be processed")
        await asyncio.sleep(2 * RESEND)
        assert await relay_once(database, enqueue_event) == 0  # handled: never due again
        assert calls.events == [event_id] and deliveries.outcomes() == ["ran", "ran"]
        async with database.transaction() as db:
            rows = (await db.execute(select(InboxEntry.handler).where(InboxEntry.event_id == event_id))).all()
        assert rows == [("tests.resend.calls",)]


@with_settings("relay-of-the-web-process", event_resend_seconds=RESEND, outbox_poll_seconds=0.05)
async def test_the_web_process_relay_resends_messages_acked_without_running(client, app, topic):
    async with asyncio.timeout(60):
        database = app.state.database
        calls, deliveries = watch(app, topic, drop=2)  # the first send and the first resend are lost
        app.state.broker.start_worker()  # the worker `make worker` runs (already running on the stub)
        async with database.transaction() as db:
            event_id = (await record_event(db, topic, "test", 1)).id
        app.state.background.wake()
        started = time.monotonic()
        await wait_for(lambda: _handled(database, event_id), 15, "the event to be handled after two losses")
        # sent at 0, again after RESEND, then after 2 * RESEND more
        assert time.monotonic() - started >= 3 * RESEND - 0.05
        assert deliveries.outcomes() == ["dropped", "dropped", "ran"]
        assert calls.events == [event_id]
        event = await stored(database, event_id)
        assert event.publish_attempts == 3
        await asyncio.sleep(8 * RESEND)  # past the next resend time: a handled event is not sent
        assert deliveries.outcomes() == ["dropped", "dropped", "ran"] and calls.events == [event_id]


async def _handled(database: Database, event_id: str) -> bool:
    return (await stored(database, event_id)).handled_at is not None


async def _delivered(deliveries: Deliveries, message_id: str) -> bool:
    with deliveries.lock:
        return message_id in deliveries.finished
