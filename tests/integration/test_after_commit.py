"""After-commit effects belong to the unit of work: a live-page touch and a scheduled job run once
after a successful commit (the request edge, ``Database.transaction()``, the event dispatcher) and
never after a rollback."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from dramatiq.middleware import Middleware

from app.core import scheduling
from app.db import commit, rollback
from app.events.dispatch import dispatch
from app.events.outbox import record_event
from app.events.topics import Topic
from app.live.hub import LiveHub, set_hubs, touch_after_commit
from app.models.base import utcnow
from app.models.catalog import ProductStatus


class Enqueued(Middleware):
    """Records every message the real broker enqueues (actor name, args)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, tuple[Any, ...]]] = []

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        self.messages.append((message.actor_name, tuple(message.args)))


@pytest.fixture
def enqueued(app):
    recorder = Enqueued()
    broker = app.state.broker.broker
    broker.add_middleware(recorder)
    yield recorder
    broker.middleware.remove(recorder)


@pytest.fixture
async def published(app):
    """A product hub publishing to a list (the channels are the edge) instead of the channels."""
    sent: list[str] = []

    async def publish(channel: str, data: str) -> None:
        sent.append(channel)

    hub = LiveHub(app.state.database, publish, render=lambda state: str(state))
    hub.bind(asyncio.get_running_loop())
    set_hubs({"product": hub})
    yield sent
    set_hubs(None)
    await hub.close()


async def test_a_touch_reaches_the_live_page_after_the_commit_and_never_after_a_rollback(
    app, members, products, published
):
    product = await products.create(await members.seller(), status=ProductStatus.ON_SALE)
    database = app.state.database
    with pytest.raises(RuntimeError):
        async with database.transaction() as db:
            touch_after_commit(db, "product", product.id)
            raise RuntimeError("the unit of work fails: nothing it asked for happens")
    await asyncio.sleep(0.3)  # the hub coalesces for 100 ms
    assert published == []

    async with database.transaction() as db:
        touch_after_commit(db, "product", product.id)
        await asyncio.sleep(0.3)
        assert published == [], "touched before the commit"
    await asyncio.sleep(0.3)
    assert published == [f"product:{product.id}"]


async def test_a_scheduled_job_is_sent_once_after_the_commit_and_never_after_a_rollback(app, enqueued):
    database = app.state.database
    at = utcnow() + timedelta(hours=1)
    with pytest.raises(RuntimeError):
        async with database.transaction() as db:
            scheduling.expire_right_at(db, 4242, at)
            raise RuntimeError("rolled back")
    db = database.sessionmaker()
    try:
        scheduling.send_refund(db, 77)
        await rollback(db)
        await commit(db)  # a commit after the rollback has nothing left to run
        assert enqueued.messages == []

        scheduling.expire_right_at(db, 4242, at)
        scheduling.close_auction_at(db, 31, at)
        assert enqueued.messages == [], "sent before the commit"
        await commit(db)
        await commit(db)  # effects run once: a second commit of the same session sends nothing
    finally:
        await db.close()
    assert enqueued.messages == [("expire_right", (4242,)), ("close_auction", (31,))]


async def test_a_savepoint_that_finds_its_row_keeps_the_effects_and_the_undos_of_its_unit_of_work(app, enqueued):
    """``add_once`` rolls back only its savepoint: what the unit of work registered still runs on
    commit, and its undos never run (nothing was rolled back)."""
    from app.db import add_once, after_rollback
    from app.models.catalog import Category

    undone: list[str] = []
    async with app.state.database.transaction() as db:
        db.add(Category(slug="once", name="Once"))
        await db.flush()
        scheduling.send_refund(db, 515)
        after_rollback(db, lambda: undone.append("undo"))
        assert not await add_once(db, Category(slug="once", name="Again"))  # the slug is taken
    assert enqueued.messages == [("perform_refund", (515,))]
    assert undone == []

    with pytest.raises(RuntimeError):
        async with app.state.database.transaction() as db:
            after_rollback(db, lambda: undone.append("undo"))
            raise RuntimeError("the whole unit of work rolls back")
    assert undone == ["undo"]


async def test_an_event_handler_schedules_after_its_own_commit(app, enqueued):
    """``payments.send_refund`` asks for the refund through the dispatcher's unit of work."""
    async with app.state.database.transaction() as db:
        event = await record_event(db, Topic.REFUND_RESERVED, "refund", 909, order_id=1)
    enqueued.messages.clear()
    assert await dispatch(app.state.database, event.id) == ["payments.send_refund"]
    assert enqueued.messages == [("perform_refund", (909,))]
    assert await dispatch(app.state.database, event.id) == []  # handled: never sent again
    assert enqueued.messages == [("perform_refund", (909,))]


async def test_a_session_of_a_database_without_a_scheduler_cannot_ask_for_work(settings):
    from app.db import Database

    database = Database(settings)
    try:
        async with database.transaction() as db:
            with pytest.raises(RuntimeError, match="without a scheduler"):
                scheduling.send_refund(db, 1)
    finally:
        await database.dispose()
