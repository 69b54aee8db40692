"""A Dramatiq worker, started as the Procfile starts it, serves its own metrics: the messages it
processed per actor and what its event handlers recorded, behind METRICS_TOKEN, and promtool
finds nothing to complain about."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import httpx
import pytest

from app.events.relay import relay_once
from tests.helpers.backends import _free_port
from tests.helpers.metrics import BEARER, TOKEN, Scrape
from tests.helpers.procfile import needs_redis, start, started
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow


@needs_redis
@pytest.mark.timeout(150)
async def test_the_worker_serves_its_queue_and_handler_metrics(app, members, products, settings, tmp_path):
    port = _free_port()
    worker = start(
        "worker", settings, tmp_path, WORKER_PROCESSES="2", WORKER_METRICS_PORT=str(port), METRICS_TOKEN=TOKEN
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        await started(worker, "Worker process is ready for action.", count=2)
        seller = await members.seller()
        for _ in range(3):
            await products.create(seller)  # their events wait in the outbox
        database = app.state.database
        while await relay_once(database, database.scheduler.enqueue_event):
            pass
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code == 404  # no token, no metrics

            async def handled() -> Scrape | None:
                r = await client.get(url, headers=BEARER)
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
                scrape = Scrape(r.text)
                done = scrape.value("smore_queue_messages_total", actor="handle_bulk_event")
                done += scrape.value("smore_queue_messages_total", actor="handle_event")
                return scrape if done >= 3 and scrape.value("smore_event_handled_delay_seconds_count") >= 3 else None

            scrape = await wait_for(handled, 60, "the worker to handle the events and count them")
        assert scrape.value("smore_queue_message_failures_total") == 0
        assert scrape.has("smore_queue_message_seconds_bucket")
        if shutil.which("promtool"):
            checked = await asyncio.to_thread(
                subprocess.run, ["promtool", "check", "metrics"], input=scrape.text, capture_output=True, text=True
            )
            assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    finally:
        worker.kill()
