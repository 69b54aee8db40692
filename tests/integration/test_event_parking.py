"""A handler that keeps failing is recorded, then parked: the queue stops retrying it, later
deliveries skip it, other handlers of the event are unaffected, and a retry runs it once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.admin.event_service import EventFailureService
from app.core.errors import DomainError, NotFound
from app.db import Database
from app.events import dispatch as dispatch_module
from app.events import handlers as registry
from app.events.dispatch import dispatch
from app.events.handlers import on_private
from app.events.outbox import record_event
from app.models.events import EventFailure, InboxEntry

PARK_AFTER = dispatch_module.PARK_AFTER


class Flaky:
    """A handler that fails its first ``failures`` calls, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.successes: list[str] = []

    async def __call__(self, db, event) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"boom {self.calls}")
        self.successes.append(event.id)


@pytest.fixture
def topic() -> Iterator[str]:
    name = f"test.parking.{uuid.uuid4().hex[:12]}"
    yield name
    registry._HANDLERS.pop(name, None)


def register(topic: str, name: str, fn: Flaky) -> Flaky:
    on_private(topic, name=name)(fn)
    return fn


async def new_event(database: Database, topic: str) -> str:
    async with database.transaction() as db:
        return (await record_event(db, topic, "test", 7)).id


async def failure(database: Database, event_id: str, handler: str) -> EventFailure | None:
    async with database.transaction() as db:
        return await db.get(EventFailure, (event_id, handler))


async def inbox_count(database: Database, event_id: str, handler: str) -> int:
    async with database.transaction() as db:
        stmt = select(func.count()).where(InboxEntry.event_id == event_id, InboxEntry.handler == handler)
        return (await db.execute(stmt)).scalar_one()


async def test_failures_are_recorded_then_parked_and_skipped_while_others_run_once(app, topic):
    database = app.state.database
    flaky = register(topic, "tests.parking.flaky", Flaky(failures=100))
    steady = register(topic, "tests.parking.steady", Flaky(failures=0))
    event_id = await new_event(database, topic)

    for attempt in range(1, PARK_AFTER):
        with pytest.raises(RuntimeError, match=f"boom {attempt}"):
            await dispatch(database, event_id)
        row = await failure(database, event_id, "tests.parking.flaky")
        assert row is not None and row.attempts == attempt and row.parked_at is None
        assert row.last_error.splitlines()[0] == f"RuntimeError: boom {attempt}"
        assert "in __call__" in row.last_error  # the trimmed traceback follows the first line
    assert steady.successes == [event_id]  # ran on the first delivery, never again
    assert await failure(database, event_id, "tests.parking.steady") is None

    assert await dispatch(database, event_id) == []  # the last failure parks it: no raise, no retry
    row = await failure(database, event_id, "tests.parking.flaky")
    assert row is not None and row.attempts == PARK_AFTER and row.parked_at is not None
    assert flaky.calls == PARK_AFTER

    assert await dispatch(database, event_id) == []  # a later delivery skips the parked handler
    assert flaky.calls == PARK_AFTER
    assert (await failure(database, event_id, "tests.parking.flaky")).attempts == PARK_AFTER
    assert steady.successes == [event_id]
    assert await inbox_count(database, event_id, "tests.parking.flaky") == 0
    assert await inbox_count(database, event_id, "tests.parking.steady") == 1


async def test_a_retried_handler_runs_once_and_its_failure_row_disappears(app, topic):
    database = app.state.database
    flaky = register(topic, "tests.parking.flaky", Flaky(failures=PARK_AFTER))
    event_id = await new_event(database, topic)
    for _ in range(PARK_AFTER - 1):
        with pytest.raises(RuntimeError):
            await dispatch(database, event_id)
    assert await dispatch(database, event_id) == []
    assert (await failure(database, event_id, "tests.parking.flaky")).parked_at is not None

    async with database.transaction() as db:
        event = await EventFailureService(db).retry(event_id, "tests.parking.flaky")
        assert event.topic == topic
    row = await failure(database, event_id, "tests.parking.flaky")
    assert row is not None and row.parked_at is None and row.attempts == 0

    assert await dispatch(database, event_id) == ["tests.parking.flaky"]
    assert flaky.successes == [event_id]
    assert await failure(database, event_id, "tests.parking.flaky") is None
    assert await dispatch(database, event_id) == []  # the inbox still makes it once-only
    assert flaky.successes == [event_id] and flaky.calls == PARK_AFTER + 1
    assert await inbox_count(database, event_id, "tests.parking.flaky") == 1


async def test_a_handler_that_recovers_before_parking_leaves_no_failure_row(app, topic):
    database = app.state.database
    flaky = register(topic, "tests.parking.flaky", Flaky(failures=2))
    event_id = await new_event(database, topic)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await dispatch(database, event_id)
    assert (await failure(database, event_id, "tests.parking.flaky")).attempts == 2
    assert await dispatch(database, event_id) == ["tests.parking.flaky"]
    assert flaky.successes == [event_id]
    assert await failure(database, event_id, "tests.parking.flaky") is None


async def test_retry_refuses_rows_that_are_not_parked_and_unknown_rows(app, topic):
    database = app.state.database
    register(topic, "tests.parking.flaky", Flaky(failures=100))
    event_id = await new_event(database, topic)
    with pytest.raises(RuntimeError):
        await dispatch(database, event_id)
    async with database.transaction() as db:
        with pytest.raises(DomainError, match="not parked"):
            await EventFailureService(db).retry(event_id, "tests.parking.flaky")
        with pytest.raises(NotFound):
            await EventFailureService(db).retry(event_id, "tests.parking.nobody")
        with pytest.raises(NotFound):
            await EventFailureService(db).retry("0" * 32, "tests.parking.flaky")
    row = await failure(database, event_id, "tests.parking.flaky")
    assert row is not None and row.attempts == 1 and row.parked_at is None


async def test_the_setting_overrides_the_limit_and_unparked_failures_still_raise(app, topic, settings):
    database = Database(settings.with_changes(event_park_after=2))
    try:
        first = register(topic, "tests.parking.first", Flaky(failures=100))
        event_id = await new_event(database, topic)
        with pytest.raises(RuntimeError):
            await dispatch(database, event_id)
        second = register(topic, "tests.parking.second", Flaky(failures=100))
        # the first handler is parked now, the second failed once: the queue must retry for it
        with pytest.raises(RuntimeError, match="boom 1"):
            await dispatch(database, event_id)
        assert (await failure(database, event_id, "tests.parking.first")).parked_at is not None
        assert (await failure(database, event_id, "tests.parking.second")).parked_at is None
        assert await dispatch(database, event_id) == []  # both parked: nothing left to retry
        assert (await failure(database, event_id, "tests.parking.second")).parked_at is not None
        assert (first.calls, second.calls) == (2, 2)
    finally:
        await database.dispose()
