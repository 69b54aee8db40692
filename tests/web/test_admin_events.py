"""``/admin/events``: parked event handlers for administrators, with a Retry button."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar import Litestar

from app.events import handlers as registry
from app.events.handlers import on_private
from app.models.base import utcnow
from app.models.events import EventFailure, InboxEntry, OutboxEvent
from tests.helpers.web import as_admin, login, post_form

HANDLER = "tests.admin_events.recorder"
ERROR = 'ValueError: the <b>gateway</b> said no\n  File "app/x.py", line 3, in handle\n    raise ValueError()'


@pytest.fixture
def topic() -> Iterator[str]:
    """A topic of its own with a handler that succeeds (a retried delivery runs it)."""
    name = f"test.admin_events.{uuid.uuid4().hex[:12]}"

    async def recorder(db, event) -> None:
        return None  # its inbox row shows that it ran

    on_private(name, name=HANDLER)(recorder)
    yield name
    registry._HANDLERS.pop(name, None)


async def failed_event(
    app: Litestar, topic: str, *, parked: bool = True, attempts: int = 5, age_minutes: int = 0
) -> str:
    """An event already relayed whose handler failed ``attempts`` times (parked or not)."""
    event_id = uuid.uuid4().hex
    when = utcnow() - timedelta(minutes=age_minutes)
    async with app.state.database.transaction() as db:
        db.add(OutboxEvent(id=event_id, topic=topic, aggregate_type="order", aggregate_id=42, published_at=when))
        await db.flush()
        db.add(
            EventFailure(
                event_id=event_id,
                handler=HANDLER,
                attempts=attempts,
                last_error=ERROR,
                last_failed_at=when,
                parked_at=when if parked else None,
            )
        )
    return event_id


async def failure(app: Litestar, event_id: str) -> EventFailure | None:
    async with app.state.database.transaction() as db:
        return await db.get(EventFailure, (event_id, HANDLER))


async def test_anonymous_is_sent_to_login_and_a_shopper_is_refused(client, members, app, topic):
    event_id = await failed_event(app, topic)
    r = await client.get("/admin/events")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/events"
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/admin/events")).status_code == 403
    r = await post_form(client, f"/admin/events/{event_id}/retry", {"handler": HANDLER})
    assert r.status_code == 403
    assert (await failure(app, event_id)).parked_at is not None


async def test_empty_state_and_the_link_from_the_admin_page(client, members):
    await as_admin(client, members)
    assert 'href="/admin/events"' in (await client.get("/admin")).text
    r = await client.get("/admin/events")
    assert r.status_code == 200 and "No parked events" in r.text


async def test_an_admin_sees_parked_events_with_their_error(client, members, app, topic):
    await as_admin(client, members)
    parked = await failed_event(app, topic)
    failing = await failed_event(app, topic, parked=False, attempts=2)
    r = await client.get("/admin/events")
    assert r.status_code == 200 and "No parked events" not in r.text
    assert parked in r.text and failing not in r.text
    assert topic in r.text and "order #42" in r.text and HANDLER in r.text
    assert "<summary>ValueError: the &lt;b&gt;gateway&lt;/b&gt; said no</summary>" in r.text
    assert "in handle" in r.text  # the full text, in the <details>
    assert f'action="/admin/events/{parked}/retry"' in r.text
    r = await client.get("/admin/events", params={"tab": "failing"})
    assert failing in r.text and parked not in r.text
    assert "/retry" not in r.text  # still retried by the queue: no button


async def test_parked_events_are_newest_first_and_paginated(client, members, app, topic):
    await as_admin(client, members)
    ids = [await failed_event(app, topic, age_minutes=minutes) for minutes in range(7)]
    first = (await client.get("/admin/events")).text
    assert [first.index(i) for i in ids[:5]] == sorted(first.index(i) for i in ids[:5])
    assert all(i not in first for i in ids[5:]) and "Page 1 of 2 (7 in all)" in first
    second = (await client.get("/admin/events", params={"page": "2"})).text
    assert all(i in second for i in ids[5:]) and all(i not in second for i in ids[:5])


async def test_retry_unparks_the_handler_and_delivers_the_event_again(client, members, app, topic):
    await as_admin(client, members)
    event_id = await failed_event(app, topic)
    r = await post_form(client, f"/admin/events/{event_id}/retry", {"handler": HANDLER})
    assert r.status_code == 303 and r.headers["location"] == "/admin/events"
    row = await failure(app, event_id)
    assert row is None or (row.parked_at is None and row.attempts == 0)
    r = await client.get("/admin/events")
    assert "will run again" in r.text and "No parked events" in r.text
    await wait_until_handled(app, event_id)  # the worker ran it: inbox row written, failure row gone
    assert await failure(app, event_id) is None


async def test_retrying_a_row_that_is_not_parked_changes_nothing(client, members, app, topic):
    await as_admin(client, members)
    event_id = await failed_event(app, topic, parked=False, attempts=3)
    r = await post_form(client, f"/admin/events/{event_id}/retry", {"handler": HANDLER})
    assert r.status_code == 303
    assert "is not parked; nothing was changed" in (await client.get("/admin/events")).text
    row = await failure(app, event_id)
    assert row is not None and row.attempts == 3 and row.parked_at is None and row.last_error == ERROR


async def test_unknown_failures_are_404(client, members, app, topic):
    await as_admin(client, members)
    event_id = await failed_event(app, topic)
    assert (await post_form(client, f"/admin/events/{uuid.uuid4().hex}/retry", {"handler": HANDLER})).status_code == 404
    assert (await post_form(client, f"/admin/events/{event_id}/retry", {"handler": "nobody"})).status_code == 404
    assert (await post_form(client, f"/admin/events/{event_id}/retry")).status_code == 404
    assert (await failure(app, event_id)).parked_at is not None


async def wait_until_handled(app: Litestar, event_id: str, limit: float = 10.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        async with app.state.database.transaction() as db:
            if await db.get(InboxEntry, (event_id, HANDLER)) is not None:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the retried event was not handled in time")
