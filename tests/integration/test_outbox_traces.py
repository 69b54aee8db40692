"""The trace context an outbox row keeps and the relay sends: the current context of the writing
transaction, or, in a Buy batch that decides for many requests at once, each press's own."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import select

from app.drops.service import Press, _Waiting
from app.events.outbox import record_event
from app.events.relay import relay_once
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.events import OutboxEvent
from app.observability.tracing import current_trace_context
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.traces import trace_id_of

tracer = TracerProvider().get_tracer("tests")


async def test_a_buy_batch_gives_each_right_s_event_the_trace_of_its_own_press(app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    first, second = await members.create(), await members.create()
    presses = {}
    for member in (first, second):
        with tracer.start_as_current_span(f"press of {member.id}") as span:
            presses[member.id] = (span.get_span_context().trace_id, current_trace_context())
    now = utcnow()
    batch = [_Waiting(Press(product.id, m.id, key()), now, trace=presses[m.id][1]) for m in (first, second)]
    with tracer.start_as_current_span("the batch's task, started by the first press's request"):
        results = await service(app).decide_batch(batch)
    rights = {m.id: r.right_id for m, r in zip((first, second), results, strict=True)}
    async with app.state.database.transaction() as db:
        rows = list((await db.execute(select(OutboxEvent).where(OutboxEvent.topic == Topic.RIGHT_GRANTED))).scalars())
    by_right = {row.aggregate_id: row for row in rows}
    for member in (first, second):
        carried = by_right[rights[member.id]].trace_context
        assert trace_id_of(carried["traceparent"]) == presses[member.id][0]


async def test_an_event_keeps_the_current_trace_and_none_outside_one(app):
    database = app.state.database
    with tracer.start_as_current_span("a request") as span:
        async with database.transaction() as db:
            traced = await record_event(db, "test.ping", "test", 1)
    async with database.transaction() as db:
        untraced = await record_event(db, "test.ping", "test", 2)
    async with database.transaction() as db:
        stored = {e.id: e.trace_context for e in (await db.execute(select(OutboxEvent))).scalars()}
    assert trace_id_of(stored[traced.id]["traceparent"]) == span.get_span_context().trace_id
    assert stored[untraced.id] is None


async def test_the_relay_sends_each_event_inside_its_stored_trace(app):
    database = app.state.database
    with tracer.start_as_current_span("a request") as span:
        async with database.transaction() as db:
            await record_event(db, "test.ping", "test", 1)
    sent: list[dict[str, str]] = []
    assert await relay_once(database, lambda event_id, topic: sent.append(current_trace_context())) == 1
    assert trace_id_of(sent[0]["traceparent"]) == span.get_span_context().trace_id
    assert current_trace_context() == {}  # and the relay's own context is as it was
