"""``/admin/ops`` through the app: only for administrators; the presses of a live drop made through
the Buy button; the outbox backlog with the relay stopped; the processes alive from their
heartbeats; the queues' waiting messages; the polled fragment and its summary told only on a change."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from dataclasses import replace
from datetime import timedelta

from app.admin.ops_heartbeats import Heartbeat, PoolUsage, RedisHeartbeats, heartbeats_for
from app.models.base import utcnow
from app.models.events import OutboxEvent
from tasks.mail import sweep_mail
from tests.helpers.backends import TEST_REDIS_URL
from tests.helpers.config import with_settings
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.waiting import wait_for
from tests.helpers.web import HTMX, as_admin, buy, login, second_browser


def cell(html: str, row_id: str, name: str) -> str:
    """The text of the cell of class ``ops-{name}`` in the row ``row_id``."""
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row {row_id}"
    found = re.search(rf'class="ops-{name}"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert found, f"no {name} cell in {row_id}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


def dd(html: str, name: str) -> str:
    found = re.search(rf'<dd id="ops-{name}">(.*?)</dd>', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_only_administrators_see_the_page(client, members):
    r = await client.get("/admin/ops")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/ops"
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/admin/ops")).status_code == 403
    assert (await client.get("/admin/ops", headers=HTMX)).status_code == 403


async def test_an_empty_shop_says_so(client, members):
    await as_admin(client, members)
    r = await client.get("/admin/ops")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'id="ops-no-drops"' in r.text and "No live drop right now." in r.text
    assert 'hx-trigger="every 2s"' in r.text and '<meta http-equiv="refresh"' in r.text  # live, and without JS
    assert 'aria-live="polite"' in r.text
    home = await client.get("/admin")
    assert 'href="/admin/ops"' in home.text


async def test_presses_through_the_buy_button_show_on_the_page(client, app, members, products):
    product = await on_sale(app, members, products, fixed=2, limit=1)
    for _ in range(3):  # three shoppers, two units: two rights and a sold-out refusal
        async with second_browser(client) as shopper:
            member = await members.create()
            await login(shopper, member.email)
            k = key()  # the page's key (a sold-out page shows no Buy button; the press still comes)
            assert (await buy(shopper, product.id, k)).status_code == 200
            again = await buy(shopper, product.id, k)  # the same key: answered from the gate
            assert again.status_code == 200
    await as_admin(client, members)
    r = await client.get("/admin/ops")
    row = f"ops-drop-{product.id}"
    assert cell(r.text, row, "granted") == "2"
    assert cell(r.text, row, "refused").startswith("1") and "Sold out" in cell(r.text, row, "refused")
    assert cell(r.text, row, "held") == "2"
    assert cell(r.text, row, "expiring") == "0"  # ten minutes to pay
    assert float(cell(r.text, row, "rate")) > 0
    assert cell(r.text, row, "batches") == "3"  # each first press its own batch
    assert cell(r.text, row, "replays") == "3" or app.state.settings.redis_url  # Redis: written a second later
    assert cell(r.text, row, "left") == "0 of 2"


@with_settings("relay stopped", background_jobs=False)
async def test_the_outbox_backlog_and_its_oldest_age(client, app, members):
    async with app.state.database.transaction() as db:
        for minutes in (3, 1):
            db.add(
                OutboxEvent(
                    id=uuid.uuid4().hex,
                    topic="order.paid",
                    aggregate_type="order",
                    aggregate_id=1,
                    created_at=utcnow() - timedelta(minutes=minutes, seconds=5),
                )
            )
    await as_admin(client, members)
    r = await client.get("/admin/ops")
    assert dd(r.text, "unsent") == "2"
    assert dd(r.text, "unsent-age") == "3 minutes"
    assert "events waiting in the outbox" in r.text
    assert 'href="/admin/events"' in r.text  # the parked events' page


async def test_the_processes_alive_are_listed_from_their_heartbeats(client, app, members):
    await as_admin(client, members)
    r = await client.get("/admin/ops")
    web = re.findall(r'<tr class="ops-process" data-role="web" data-pid="(\d+)"', r.text)
    assert web == [str(os.getpid())], "this web process beats at its start"

    async def worker_listed():  # the in-process worker beats from its own loop once it has booted
        return f'data-role="worker" data-pid="{os.getpid()}"' in (await client.get("/admin/ops")).text

    await wait_for(worker_listed, 5, "the worker's heartbeat")
    other = Heartbeat("other-host", 4242, "web", 3, PoolUsage(4, 10), utcnow())
    # another process publishes its own heartbeat (with Redis: through a client of its own)
    store = RedisHeartbeats(TEST_REDIS_URL) if TEST_REDIS_URL else heartbeats_for(app.state.settings)
    await store.beat(other)
    r = await client.get("/admin/ops")
    assert re.search(r'data-role="web" data-pid="4242"', r.text)
    listed = re.search(r'data-pid="4242">(.*?)</tr>', r.text, re.S).group(1)
    assert "other-host" in listed and ">3<" in listed and "4 of 10" in listed
    await store.forget(other)
    assert 'data-pid="4242"' not in (await client.get("/admin/ops")).text
    await store.beat(replace(other, pid=4343))
    if TEST_REDIS_URL:
        await store.redis.expire(f"{store.prefix}:{replace(other, pid=4343).name}", 1)
        await asyncio.sleep(1.5)
        assert 'data-pid="4343"' not in (await client.get("/admin/ops")).text  # it stopped beating
        await store.close()


@with_settings("no worker", in_process_worker=False)
async def test_the_queues_waiting_messages_by_actor(client, app, members):
    await as_admin(client, members)
    sweep_mail.send()
    r = await client.get("/admin/ops")
    assert re.search(r'data-queue="mail" data-actor="sweep_mail">.*?class="ops-waiting">1<', r.text, re.S)
    app.state.broker.broker.flush_all()


async def test_the_poll_answers_with_the_live_part_and_tells_the_summary_only_on_a_change(client, members):
    await as_admin(client, members)
    r = await client.get("/admin/ops", headers=HTMX)
    assert r.status_code == 200 and "<html" not in r.text and 'id="ops-seen"' in r.text
    assert 'hx-swap-oob="innerHTML"' in r.text  # the page's summary was not given
    seen = re.search(r'id="ops-seen" name="seen" value="([^"]+)"', r.text).group(1)
    again = await client.get(f"/admin/ops?seen={seen}", headers=HTMX)
    assert 'id="ops-seen"' in again.text and "hx-swap-oob" not in again.text  # nothing new to say
    full = await client.get(f"/admin/ops?seen={seen}")
    assert full.text.count('id="ops-summary"') == 1  # the full page has it once, in place
    boosted = await client.get("/admin/ops", headers={**HTMX, "HX-Boosted": "true"})
    assert "<title>" in boosted.text and "hx-swap-oob" not in boosted.text
    for odd in ("x" * 500, "%00", "1.2.3"):
        assert (await client.get("/admin/ops", params={"seen": odd}, headers=HTMX)).status_code == 200


async def test_the_page_in_korean(client, members):
    await as_admin(client, members)
    client.cookies.set("lang", "ko")
    r = await client.get("/admin/ops")
    assert "운영 현황" in r.text and "지금 진행 중인 선착순 판매가 없어요." in r.text
