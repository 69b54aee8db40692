"""``/metrics`` through the app: who may read it, HTTP requests by route template (streams counted
but not timed), and the domain counters a press, a bid and a payment move."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import threading
import uuid

import pytest

from app.drops.service import Press
from app.events import handlers as registry
from app.events.dispatch import PARK_AFTER, dispatch
from app.events.handlers import on_private
from app.events.outbox import record_event
from app.live.hub import touch_kind
from app.observability.metrics import PRESSES, set_enabled
from tests.helpers.auctions import live_auction
from tests.helpers.config import with_settings
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.metrics import BEARER, TOKEN, scrape
from tests.helpers.orders import open_checkout, pay_with
from tests.helpers.streams import read_stream
from tests.helpers.waiting import wait_for
from tests.helpers.web import as_admin, buy, login, place, signed_in

with_token = with_settings("token", metrics_token=TOKEN)


@with_token
async def test_metrics_answer_the_token_and_an_admin_and_nobody_else(client, members):
    r = await client.get("/metrics", headers=BEARER)
    assert r.status_code == 200
    assert re.match(r"text/plain; version=[\d.]+; charset=utf-8", r.headers["content-type"])
    assert "smore_drop_presses_total" in r.text
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        assert (await client.get("/metrics", headers=headers)).status_code == 404, headers
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/metrics")).status_code == 404
    await as_admin(client, members)
    assert (await client.get("/metrics")).status_code == 200


async def test_without_a_token_no_bearer_opens_it(client):
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        assert (await client.get("/metrics", headers=headers)).status_code == 404


@with_token
async def test_requests_are_counted_by_route_template_and_streams_are_not_timed(client, app, members, products):
    product = await on_sale(app, members, products, fixed=3)
    before = await scrape(client)
    page = "/products/{product_id}"
    for _ in range(3):
        assert (await client.get(f"/products/{product.id}")).status_code == 200
    assert (await client.get("/products/999999")).status_code == 404
    await read_stream(client, f"/products/{product.id}/events", lambda body: b"\r\n\r\n" in body or b"\n\n" in body, 5)
    after = await scrape(client)
    counted = "smore_requests_total"
    assert (
        after.value(counted, path=page, method="GET", status_code="200")
        - before.value(counted, path=page, method="GET", status_code="200")
        == 3
    )
    assert after.value(counted, path=page, status_code="404") - before.value(counted, path=page, status_code="404") == 1
    assert not any(re.search(r"/\d+", path) for path in after.paths(counted)), "never an id in a label"
    timed = after.paths("smore_request_duration_seconds_count")
    assert page in timed
    stream = "/products/{product_id}/events"
    assert after.value(counted, path=stream) - before.value(counted, path=stream) == 1
    assert stream not in timed, "a stream's duration is its life, not a request's"


@with_token
async def test_presses_are_counted_by_outcome_with_the_gate_and_the_batches(client, app, members, products):
    product = await on_sale(app, members, products, fixed=1)
    before = await scrape(client)
    await signed_in(client, members)
    k = key()
    assert "Yours!" in (await buy(client, product.id, k)).text
    assert "Yours!" in (await buy(client, product.id, k)).text  # the same key again: replayed
    other = await members.create()
    await service(app).press(Press(product.id, other.id, key()))  # the last unit went: sold out
    assert (await buy(client, product.id, "short")).status_code == 400
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    presses = "smore_drop_presses_total"
    assert delta(presses, outcome="granted") == 1
    assert delta(presses, outcome="replayed") == 1
    assert delta(presses, outcome="sold_out") == 1
    assert delta(presses, outcome="invalid_key") == 1
    assert delta("smore_drop_gate_lookups_total", answer="gate") == 1
    assert delta("smore_drop_gate_lookups_total", answer="database") == 2
    assert delta("smore_batch_size_count", lane="drop") == 2
    assert delta("smore_batch_size_sum", lane="drop") == 2
    assert delta("smore_batch_seconds_count", lane="drop") == 2


@with_token
async def test_bids_and_extensions_are_counted(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    before = await scrape(client)
    await signed_in(client, members)
    assert (await place(client, auction.id, "10000")).status_code == 200
    assert (await place(client, auction.id, "5000")).status_code == 422  # below the minimum: refused
    after = await scrape(client)
    assert (
        after.value("smore_bids_total", outcome="accepted") - before.value("smore_bids_total", outcome="accepted") == 1
    )
    assert after.value("smore_bids_total", outcome="refused") - before.value("smore_bids_total", outcome="refused") == 1
    assert after.value("smore_batch_size_count", lane="bid") - before.value("smore_batch_size_count", lane="bid") == 2
    assert after.has("smore_auction_extensions_total")


@with_token
async def test_payments_are_counted_by_outcome(client, shop, app, members, products):
    before = await scrape(client)
    _member, _order_id, _right, query = await open_checkout(client, app, members, products)
    assert (await client.get(await pay_with(client, query, "approve"))).status_code == 303
    _member, _order_id, _right, query = await open_checkout(client, app, members, products)
    await client.get(await pay_with(client, query, "decline"))
    after = await scrape(client)
    payments = "smore_payments_total"
    assert after.value(payments, outcome="approved") - before.value(payments, outcome="approved") == 1
    declined = sum(
        after.value(payments, outcome=o) - before.value(payments, outcome=o) for o in ("declined", "checkout_failed")
    )
    assert declined == 1


@with_settings("off", metrics=False, metrics_token=TOKEN)
async def test_metrics_off_serves_nothing_and_records_nothing(client, app, members, products):
    assert (await client.get("/metrics", headers=BEARER)).status_code == 404
    granted = PRESSES.labels("granted")
    before = granted._value.get()
    product = await on_sale(app, members, products, fixed=1)
    await signed_in(client, members)
    assert "Yours!" in (await buy(client, product.id, key())).text
    assert granted._value.get() == before
    set_enabled(True)  # the switch is the process's (every app sets it again at its start)


@with_token
async def test_an_open_stream_is_a_live_stream_until_it_ends(client, app, members, products):
    product = await on_sale(app, members, products, fixed=3)
    gauge = "smore_live_streams"
    before = (await scrape(client)).value(gauge, channel="product")
    opened, finish = asyncio.Event(), threading.Event()
    loop = asyncio.get_running_loop()

    def enough(body: bytearray) -> bool:
        if b"event:" in body:
            loop.call_soon_threadsafe(opened.set)
        return finish.is_set()

    task = asyncio.ensure_future(read_stream(client, f"/products/{product.id}/events", enough, 10))
    await asyncio.wait_for(opened.wait(), 5)
    assert (await scrape(client)).value(gauge, channel="product") == before + 1
    finish.set()
    await service(app).press(Press(product.id, (await members.create()).id, key()))
    touch_kind("product", product.id)  # the stock changed: one more event, the reader sees it and hangs up
    await task
    await wait_for(lambda: _streams_back(client, gauge, before), 5, "the stream to be counted closed")


async def _streams_back(client, gauge: str, before: float) -> bool:
    return (await scrape(client)).value(gauge, channel="product") == before


@with_token
async def test_the_outbox_the_pool_and_the_queue_are_measured(client, app, members, products):
    product = await on_sale(app, members, products, fixed=2)
    before = await scrape(client)
    await service(app).press(Press(product.id, (await members.create()).id, key()))  # writes an event
    relayed = "smore_outbox_relay_delay_seconds_count"

    async def handled() -> bool:
        now = await scrape(client)
        names = (relayed, "smore_event_handled_delay_seconds_count")
        return all(now.value(name) > before.value(name) for name in names) and now.value(
            "smore_queue_messages_total", actor="handle_event"
        ) > before.value("smore_queue_messages_total", actor="handle_event")

    await wait_for(handled, 10, "the event to be relayed and handled, and its message counted")
    after = await scrape(client)
    assert after.has("smore_outbox_oldest_unsent_age_seconds")
    settings = app.state.settings
    assert after.value("smore_db_pool_checked_out") >= 0
    if settings.is_sqlite or not settings.database_null_pool:  # a pool, not a connection per checkout
        assert after.value("smore_db_pool_limit") >= settings.db_pool_size + settings.db_max_overflow
        assert after.value("smore_db_pool_checked_out") <= after.value("smore_db_pool_limit")


@with_token
async def test_a_failing_handler_is_counted_and_its_parking_too(client, app):
    topic, name = f"test.metrics.{uuid.uuid4().hex[:12]}", f"failing-{uuid.uuid4().hex[:8]}"

    async def failing(db, event) -> None:
        raise RuntimeError("boom")

    on_private(topic, name=name)(failing)
    try:
        async with app.state.database.transaction() as db:
            event_id = (await record_event(db, topic, "test", 7)).id
        for _ in range(PARK_AFTER):
            with contextlib.suppress(RuntimeError):
                await dispatch(app.state.database, event_id)
    finally:
        registry._HANDLERS.pop(topic, None)
    after = await scrape(client)
    assert after.value("smore_event_handler_failures_total", handler=name) == PARK_AFTER
    assert after.value("smore_event_handlers_parked_total", handler=name) == 1


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed (`make promtool` installs it)")
@with_token
async def test_promtool_finds_nothing_to_complain_about_after_a_press_a_bid_and_a_payment(
    client, shop, app, members, products
):
    _member, _order_id, _right, query = await open_checkout(client, app, members, products)  # a press
    assert (await client.get(await pay_with(client, query, "approve"))).status_code == 303  # a payment
    auction = await live_auction(app, members, products, units=1)
    await signed_in(client, members)
    assert (await place(client, auction.id, "10000")).status_code == 200  # a bid
    text = (await scrape(client)).text
    for name in ("smore_drop_presses_total", "smore_payments_total", "smore_bids_total", "smore_requests_total"):
        assert f"# TYPE {name} counter" in text
    command = ["promtool", "check", "metrics"]
    checked = await asyncio.to_thread(subprocess.run, command, input=text, capture_output=True, text=True, timeout=30)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
