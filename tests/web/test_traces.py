"""One trace follows the work: a Buy press through the outbox and the queue into the worker's
handler that makes the order; a late bid into the close it moves and the winner's order; the SQL,
Redis and gateway calls of a request are spans under it. The app is given a tracer provider with
an in-memory exporter; the worker is the in-process one (StubBroker, or Redis with TEST_REDIS_URL)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from opentelemetry.trace import SpanKind
from sqlalchemy import select, update

from app.auctions.rules import AuctionStatus
from app.events.topics import Topic
from app.models.auctions import Auction
from app.models.base import utcnow
from app.models.events import OutboxEvent
from app.models.orders import Order
from app.observability.tracing import traced_transport
from tests.helpers.auctions import live_auction
from tests.helpers.backends import TEST_REDIS_URL
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.orders import open_checkout, pay_with
from tests.helpers.traces import Traced, statement, trace_id_of
from tests.helpers.waiting import wait_for
from tests.helpers.web import buy, login, place, signed_in


@pytest.fixture
def traced():
    caught = Traced()
    yield caught
    caught.provider.shutdown()


@pytest.fixture
def settings(settings, traced):
    return settings.with_changes(tracer_provider=traced.provider, auction_extend_seconds=2, sweep_seconds=3600)


async def orders_of(app, member_id: int) -> list[Order]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(Order).where(Order.member_id == member_id))).scalars())


async def events(app, topic: Topic) -> list[OutboxEvent]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(OutboxEvent).where(OutboxEvent.topic == topic.value))).scalars())


def spans_when(traced: Traced, find, what: str):
    async def check():
        return find()

    return wait_for(check, 15, what)


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_a_buy_press_and_the_order_its_right_makes_are_one_trace(client, app, members, products, traced):
    product = await on_sale(app, members, products, fixed=3)
    member = await signed_in(client, members)
    r = await buy(client, product.id, key())
    assert r.status_code == 200 and "Yours!" in r.text
    press = traced.request("POST", "/buy")
    assert press.name == "POST /products/{product_id}/buy"
    [granted] = await events(app, Topic.RIGHT_GRANTED)
    assert trace_id_of(granted.trace_context["traceparent"]) == press.context.trace_id  # the row keeps the trace

    await wait_for(lambda: orders_of(app, member.id), 15, "the order made from the purchase right")
    [handler] = await spans_when(traced, lambda: traced.handler("orders.create_from_right"), "the handler's span")
    assert handler.context.trace_id == press.context.trace_id
    assert handler.attributes["smore.event.id"] == granted.id
    chain = list(traced.ancestors(handler))
    assert [(s.name, s.kind) for s in chain[:2]] == [
        ("handle_event", SpanKind.CONSUMER),
        (
            "send handle_event",
            SpanKind.PRODUCER,
        ),
    ]  # the worker's span of the relay's message, and the relay's send inside the event's trace
    assert chain[-1] is not None and chain[-1].context.span_id == press.context.span_id
    [insert] = traced.statements("INSERT INTO orders")
    assert insert.parent.span_id == handler.context.span_id  # the order is written inside the handler's span


async def test_a_page_s_statements_are_spans_under_its_request(client, app, members, products, traced):
    product = await on_sale(app, members, products, fixed=3)
    r = await client.get(f"/products/{product.id}")
    assert r.status_code == 200
    page = traced.request("GET", "/products/{product_id}")
    assert page.attributes["http.route"] == "/products/{product_id}"
    under = [s for s in traced.statements("SELECT") if s.parent and s.parent.span_id == page.context.span_id]
    assert under and all(s.kind is SpanKind.CLIENT for s in under)
    assert any("FROM products" in str(statement(s)) for s in under)
    assert not traced.where(lambda s: str(s.attributes.get("http.route", "")).startswith("/static"))


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_a_late_bid_its_close_and_the_winner_s_order_are_one_trace(client, app, members, products, traced):
    auction = await live_auction(app, members, products, units=1)
    member = await members.create()
    await login(client, member.email)
    async with app.state.database.transaction() as db:  # the end is near: the bid pushes it back
        soon = utcnow() + timedelta(seconds=1)
        await db.execute(update(Auction).where(Auction.id == auction.id).values(ends_at=soon))
    r = await place(client, auction.id, "10000")
    assert r.status_code == 200
    bid = traced.request("POST", "/bids")

    async def closed_with_order():
        async with app.state.database.transaction() as db:
            fresh = await db.get(Auction, auction.id)
        return fresh.status is not AuctionStatus.LIVE and await orders_of(app, member.id)

    [order] = await wait_for(closed_with_order, 15, "the close and the winner's order")
    [close] = [s for s in traced.job("close_auction") if s.context.trace_id == bid.context.trace_id]
    assert any(s.context.span_id == bid.context.span_id for s in traced.ancestors(close))
    [insert] = traced.statements("INSERT INTO orders")
    assert close in list(traced.ancestors(insert))  # the winner's order is written by the close
    [created] = [e for e in await events(app, Topic.ORDER_CREATED) if e.aggregate_id == order.id]
    assert trace_id_of(created.trace_context["traceparent"]) == bid.context.trace_id


@pytest.mark.skipif(not TEST_REDIS_URL, reason="the gate is in memory without TEST_REDIS_URL")
async def test_the_gate_s_redis_commands_are_spans_of_the_press(client, app, members, products, traced):
    product = await on_sale(app, members, products, fixed=3)
    await signed_in(client, members)
    assert (await buy(client, product.id, key())).status_code == 200
    press = traced.request("POST", "/buy")
    redis = traced.where(lambda s: s.attributes.get("db.system") == "redis")
    redis = [s for s in redis if s.context.trace_id == press.context.trace_id]
    assert redis and all(s.kind is SpanKind.CLIENT for s in redis)


async def test_the_gateway_confirm_is_a_client_span_and_the_gateway_continues_the_trace(
    client, shop, members, products, traced
):
    _member, _order, _right, query = await open_checkout(client, shop, members, products)
    back = await pay_with(client, query, "approve")
    assert (await client.get(back)).status_code == 303
    success = traced.request("GET", "/pay/success")
    calls = traced.where(lambda s: s.kind is SpanKind.CLIENT and "/v1/payments/confirm" in str(s.attributes))
    [confirm] = [s for s in calls if s.context.trace_id == success.context.trace_id]
    assert success in list(traced.ancestors(confirm))
    # the sandbox gateway (the same app here) receives the traceparent and continues the trace
    # the sandbox gateway (the same app here, so its span is an inner one) answers inside the call's span
    [gateway] = traced.where(lambda s: s.name == "POST /sandbox-gateway/v1/payments/confirm")
    assert gateway.parent.span_id == confirm.context.span_id


async def test_a_gateway_call_sends_the_trace_on(settings, traced):
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=traced_transport(httpx.MockTransport(gateway), settings)) as http:
        with traced.provider.get_tracer("test").start_as_current_span("a request") as outer:
            assert (await http.post("https://gateway.test/v1/payments/confirm")).status_code == 200
    [request] = seen
    assert trace_id_of(request.headers["traceparent"]) == outer.get_span_context().trace_id
    [call] = traced.where(lambda s: s.kind is SpanKind.CLIENT)
    assert call.parent.span_id == outer.get_span_context().span_id
    assert request.headers["traceparent"].split("-")[2] == format(call.context.span_id, "016x")
