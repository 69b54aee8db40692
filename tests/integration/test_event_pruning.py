"""Handled events are pruned after the retention, with their inbox and failure rows; events that
can still be delivered, recent ones and parked failures stay. Batches, and the periodic actor the
web process's sweeps send."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import Database
from app.events import handlers as registry
from app.events.dispatch import dispatch
from app.events.handlers import on_private
from app.events.outbox import record_event
from app.events.pruning import prune_batch, prune_events
from app.models.base import utcnow
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from tasks.events import prune_handled_events
from tests.helpers.config import with_settings

WEEK = timedelta(hours=168)


@pytest.fixture
def topics() -> Iterator[dict[str, str]]:
    """Three topics: handled by two handlers, by one that keeps failing, by one of each."""
    tag = uuid.uuid4().hex[:12]
    names = {kind: f"test.pruning.{kind}.{tag}" for kind in ("ok", "failing", "mixed")}

    async def ok(db, event) -> None:
        return None

    async def failing(db, event) -> None:
        raise RuntimeError("still failing")

    on_private(names["ok"], names["mixed"], name="tests.pruning.ok")(ok)
    on_private(names["ok"], name="tests.pruning.also_ok")(ok)
    on_private(names["failing"], names["mixed"], name="tests.pruning.failing")(failing)
    yield names
    for name in names.values():
        registry._HANDLERS.pop(name, None)


async def new_event(database: Database, topic: str) -> str:
    async with database.transaction() as db:
        return (await record_event(db, topic, "test", 3)).id


async def deliver(database: Database, event_id: str) -> None:
    try:
        await dispatch(database, event_id)
    except RuntimeError:
        pass  # a failing handler not parked yet: the queue would retry


async def rows(database: Database, event_id: str) -> tuple[bool, list[str], list[tuple[str, bool]]]:
    """(the event exists, its inbox handlers, its failures as (handler, parked))."""
    async with database.transaction() as db:
        event = await db.get(OutboxEvent, event_id)
        inbox = (await db.execute(select(InboxEntry.handler).where(InboxEntry.event_id == event_id))).scalars()
        failures = (
            await db.execute(
                select(EventFailure.handler, EventFailure.parked_at).where(EventFailure.event_id == event_id)
            )
        ).all()
        return event is not None, sorted(inbox), sorted((h, p is not None) for h, p in failures)


async def test_old_handled_events_go_with_their_rows_and_everything_else_stays(app, topics, settings):
    parking = Database(settings.with_changes(event_park_after=1))
    retrying = Database(settings.with_changes(event_park_after=100))
    try:
        old = await new_event(retrying, topics["ok"])
        await deliver(retrying, old)
        old_parked = await new_event(parking, topics["mixed"])
        await deliver(parking, old_parked)  # one handler ran, the other is parked: handled, kept
        old_failing = await new_event(retrying, topics["mixed"])
        await deliver(retrying, old_failing)  # one ran, the other is still retried: not handled
        old_unsent = await new_event(retrying, topics["ok"])
        await asyncio.sleep(0.01)
        cutoff = utcnow()
        await asyncio.sleep(0.01)
        recent = await new_event(retrying, topics["ok"])
        await deliver(retrying, recent)

        before = {eid: await rows(retrying, eid) for eid in (old_parked, old_failing, old_unsent, recent)}
        assert await rows(retrying, old) == (True, ["tests.pruning.also_ok", "tests.pruning.ok"], [])
        assert before[old_parked] == (True, ["tests.pruning.ok"], [("tests.pruning.failing", True)])
        assert before[old_failing] == (True, ["tests.pruning.ok"], [("tests.pruning.failing", False)])

        pruned = await prune_events(retrying, cutoff + WEEK, WEEK)
        assert pruned.rows == {"outbox_events": 1, "inbox": 2, "event_failures": 0, "press_refusals": 0}
        assert await rows(retrying, old) == (False, [], [])
        for event_id, kept in before.items():
            assert await rows(retrying, event_id) == kept
        assert (await prune_events(retrying, cutoff + WEEK, WEEK)).total == 0  # nothing left to do

        # a week after everything: the recent event goes too; the parked one waits for an admin
        pruned = await prune_events(retrying, utcnow() + WEEK, WEEK)
        assert pruned.rows == {"outbox_events": 1, "inbox": 2, "event_failures": 0, "press_refusals": 0}
        assert await rows(retrying, recent) == (False, [], [])
        assert await rows(retrying, old_parked) == before[old_parked]
        assert await rows(retrying, old_failing) == before[old_failing]
    finally:
        await parking.dispose()
        await retrying.dispose()


async def test_failure_rows_of_pruned_events_go_with_them(app, topics):
    database = app.state.database
    event_id = await new_event(database, topics["ok"])
    await deliver(database, event_id)
    async with database.transaction() as db:  # a failure recorded by a delivery that lost the race
        db.add(EventFailure(event_id=event_id, handler="tests.pruning.ok", attempts=1, last_failed_at=utcnow()))
    pruned = await prune_events(database, utcnow() + WEEK, WEEK)
    assert pruned.rows == {"outbox_events": 1, "inbox": 2, "event_failures": 1, "press_refusals": 0}
    assert await rows(database, event_id) == (False, [], [])


async def test_pruning_deletes_more_events_than_one_batch_in_several_batches(app):
    database = app.state.database
    now = utcnow()
    handled = [uuid.uuid4().hex for _ in range(130)]
    pending = [uuid.uuid4().hex for _ in range(7)]
    async with database.transaction() as db:
        for i, event_id in enumerate(handled + pending):
            done = now - WEEK - timedelta(minutes=i + 1) if event_id in handled else None
            db.add(
                OutboxEvent(
                    id=event_id,
                    topic="test.pruning.bulk",
                    aggregate_type="test",
                    aggregate_id=i,
                    published_at=now - WEEK - timedelta(days=1),
                    handled_at=done,
                )
            )
        await db.flush()
        for event_id in handled + pending:
            db.add_all(InboxEntry(event_id=event_id, handler=f"tests.pruning.h{n}") for n in range(2))

    async with database.transaction() as db:
        first = await prune_batch(db, now - WEEK, batch=50)
    assert first.rows == {"outbox_events": 50, "inbox": 100, "event_failures": 0}
    pruned = await prune_events(database, now, WEEK, batch=50)
    assert pruned.rows == {"outbox_events": 80, "inbox": 160, "event_failures": 0, "press_refusals": 0}
    async with database.transaction() as db:
        left = (await db.execute(select(OutboxEvent.id))).scalars().all()
        inbox = (await db.execute(select(func.count()).select_from(InboxEntry))).scalar_one()
    assert sorted(left) == sorted(pending) and inbox == 2 * len(pending)


@with_settings("no-retention", event_retention_hours=0.0, sweep_seconds=0.2)
async def test_the_web_process_sweeps_prune_handled_events(client, app, topics):
    assert prune_handled_events.send in app.state.background.sweeps
    app.state.broker.start_worker()  # the worker `make worker` runs (already running on the stub)
    database = app.state.database
    handled = await new_event(database, topics["ok"])
    failing = await new_event(database, topics["failing"])
    app.state.background.wake()  # the relay sends both; the worker handles one, retries the other

    async def gone() -> bool:
        return not (await rows(database, handled))[0]

    deadline = time.monotonic() + 20
    while not await gone():
        assert time.monotonic() < deadline, "the handled event was never pruned"
        await asyncio.sleep(0.05)
    assert await rows(database, handled) == (False, [], [])
    assert (await rows(database, failing))[0]  # still being retried: kept


async def test_kept_refusals_older_than_the_retention_are_pruned(app, members, products):
    from sqlalchemy import update

    from app.drops.rules import Outcome
    from app.drops.service import Press
    from app.models.drops import PressRefusal
    from tests.helpers.drops import on_sale, service
    from tests.helpers.keys import key

    product = await on_sale(app, members, products, fixed=1)
    drop = service(app)
    assert (await drop.press(Press(product.id, (await members.create()).id, key()))).outcome is Outcome.GRANTED
    late = [await members.create() for _ in range(3)]
    for member in late:
        assert (await drop.press(Press(product.id, member.id, key()))).outcome is Outcome.SOLD_OUT
    async with app.state.database.transaction() as db:
        old = list((await db.execute(select(PressRefusal.key).order_by(PressRefusal.key).limit(2))).scalars())
        await db.execute(
            update(PressRefusal)
            .where(PressRefusal.key.in_(old))
            .values(created_at=utcnow() - WEEK - timedelta(hours=1))
        )
    pruned = await prune_events(app.state.database, utcnow(), WEEK, batch=1)
    assert pruned.rows["press_refusals"] == 2
    async with app.state.database.transaction() as db:
        left = set((await db.execute(select(PressRefusal.key))).scalars())
    assert len(left) == 1 and not left & set(old)
