"""With tracing on, log lines name the trace they belong to: a request's access line and its own
lines carry its server span's ids, and the worker's lines for the event a Buy press wrote carry
the press's trace id. The app is given a tracer provider with an in-memory exporter."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.orders import Order
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.logs import captured_log
from tests.helpers.traces import Traced
from tests.helpers.waiting import wait_for
from tests.helpers.web import buy, signed_in


async def orders_of(app, member_id: int) -> list[Order]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(Order).where(Order.member_id == member_id))).scalars())


@pytest.fixture
def traced():
    caught = Traced()
    yield caught
    caught.provider.shutdown()


@pytest.fixture
def settings(settings, traced):
    return settings.with_changes(tracer_provider=traced.provider)


async def test_a_page_s_access_line_carries_its_span(client, app, members, products, traced):
    product = await on_sale(app, members, products, fixed=3)
    with captured_log(app.state.settings, "INFO") as log:
        assert (await client.get(f"/products/{product.id}")).status_code == 200
    page = traced.request("GET", "/products/{product_id}")
    (line,) = log.requests()
    assert line["trace_id"] == format(page.context.trace_id, "032x")
    assert line["span_id"] == format(page.context.span_id, "016x")


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_the_worker_s_lines_for_a_press_s_event_carry_the_press_s_trace(client, app, members, products, traced):
    product = await on_sale(app, members, products, fixed=3)
    member = await signed_in(client, members)
    with captured_log(app.state.settings, "DEBUG") as log:
        assert "Yours!" in (await buy(client, product.id, key())).text
        await wait_for(lambda: orders_of(app, member.id), 15, "the order made from the purchase right")
    press = traced.request("POST", "/buy")
    (line,) = [line for line in log.requests() if line["route"] == "/products/{product_id}/buy"]
    assert line["trace_id"] == format(press.context.trace_id, "032x")
    delivery = [
        line for line in log.lines() if line.get("actor") == "handle_event" and line["topic"] == "drop.right_granted"
    ]
    assert delivery and any(line.get("trace_id") == format(press.context.trace_id, "032x") for line in delivery)
