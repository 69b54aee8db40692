"""A catalogue import of 500 products must not hold up the rest of the shop: a sale scheduled to
start a few seconds after the import opens on time while the 500 products are being indexed, the
opening's own event (gate, live page) is handled soon after, and every imported product becomes
searchable.

SQLite: the embedded default (the web process runs the worker and the indexer). PostgreSQL + Redis:
a real ``dramatiq tasks.worker`` process with the Procfile's 8 threads handles every event and
indexes, as in production; the test process only relays the outbox, as a web process does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.catalog.transitions import transition
from app.events.handlers import handlers_for
from app.events.outbox import add_event
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, ProductStatusChange
from app.models.events import InboxEntry, OutboxEvent
from app.search.index import get_index
from tests.helpers.backends import whoosh_only

pytestmark = [pytest.mark.slow, whoosh_only]
ROOT = Path(__file__).resolve().parents[2]
BACKLOG = 500
STARTS_IN = 2.5  # seconds from the import's commit to the sale's start
SCHEDULING_AT_MOST = 4.0  # seconds the sale's scheduled event may take before the import starts
LATE_AT_MOST = 2.0  # seconds the opening may come after the start
EVENT_AT_MOST = 5.0  # seconds the opening's event may take to be handled (the relay polls each second)
TIME_LIMIT = 150.0


@pytest.fixture
def settings(settings):
    # With Redis the worker process does the work (nothing consumes in the test process). The
    # sweeps are far apart, so only the delayed opening message can open the sale on time.
    return settings.with_changes(in_process_worker=settings.redis_url is None, sweep_seconds=3600)


def start_worker(settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")} | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "SMORE_VAR_DIR": str(settings.var_dir),
        "SANDBOX_GATEWAY": "1",
    }
    command = [sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1", "--threads", "8"]
    out = log.open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)


def stop_worker(worker: subprocess.Popen[bytes]) -> float:
    """A clean shutdown (SIGTERM to the main process, which passes it on, as a deploy does);
    returns how long it took."""
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    return time.monotonic() - started


def _product(seller_id: int, category_id: int, name: str, **fields: Any) -> Product:
    values: dict[str, Any] = {
        "description": "A numbered limited edition.",
        "list_price": 50_000,
        "total_quantity": 10,
        "fixed_quantity": 6,
        "purchase_limit": 1,
        "sale_starts_at": utcnow() - timedelta(hours=1),
        "auction_start_price": 40_000,
        "auction_increment": 1_000,
        "auction_duration_minutes": 60,
        "status": ProductStatus.ON_SALE,
    }
    return Product(seller_id=seller_id, category_id=category_id, name=name, **values | fields)


def _status_events(product_id: int) -> tuple[Any, ...]:
    return (
        OutboxEvent.topic == Topic.PRODUCT_STATUS_CHANGED,
        OutboxEvent.aggregate_type == "product",
        OutboxEvent.aggregate_id == product_id,
    )


async def _until(check, seconds: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_scheduled_sale_opens_on_time_while_500_products_are_indexed(
    client, app, members, products, settings, tmp_path
):
    index = get_index(settings.search_path)
    database = app.state.database
    worker = start_worker(settings, tmp_path / "worker.log") if settings.redis_url else None
    try:
        async with asyncio.timeout(TIME_LIMIT):
            seller = await members.seller()
            category = await products.category()

            async def searchable(ids: set[int]) -> int:
                return len(ids & await asyncio.to_thread(index.ids))

            async def handled_by(event_id: str) -> list[datetime]:
                async with database.transaction() as db:
                    rows = await db.execute(select(InboxEntry.created_at).where(InboxEntry.event_id == event_id))
                    return list(rows.scalars())

            # the worker and its indexer are up: a first product becomes searchable
            first = await products.create(seller, name="Warm-up figure")
            app.state.background.wake()
            await _until(lambda: searchable({first.id}), 60, "a first product in the index", every=0.2)

            # a sale scheduled beforehand: its opening is a delayed message waiting for the start
            starts_at = utcnow() + timedelta(seconds=STARTS_IN + SCHEDULING_AT_MOST)
            async with database.transaction() as db:
                sale = _product(seller.id, category.id, "Drop of the day", status=ProductStatus.DRAFT)
                sale.sale_starts_at = starts_at
                db.add(sale)
                await db.flush()
                scheduled = await transition(db, sale, ProductStatus.SCHEDULED, reason="scheduled by the seller")
                scheduled_event = (
                    await db.execute(select(OutboxEvent.id).where(*_status_events(sale.id)))
                ).scalar_one()
            assert scheduled.to_status is ProductStatus.SCHEDULED
            app.state.background.wake()
            await _until(lambda: handled_by(scheduled_event), SCHEDULING_AT_MOST, "the opening to be scheduled")
            await asyncio.sleep((starts_at - utcnow()).total_seconds() - STARTS_IN)

            # STARTS_IN before the start, a catalogue import: 500 products, 500 events in one commit
            async with database.transaction() as db:
                backlog = [_product(seller.id, category.id, f"Imported figure {i}") for i in range(BACKLOG)]
                db.add_all(backlog)
                await db.flush()
                for product in backlog:
                    add_event(db, Topic.PRODUCT_CHANGED, "product", product.id)
            app.state.background.wake()
            backlog_ids = {p.id for p in backlog}

            async def status() -> ProductStatus:
                async with database.transaction() as db:
                    return (await db.get(Product, sale.id, populate_existing=True)).status

            async def opened() -> bool:
                return await status() is ProductStatus.ON_SALE

            with contextlib.suppress(AssertionError):  # the status is checked below
                await _until(opened, (starts_at - utcnow()).total_seconds() + LATE_AT_MOST, "the sale to open")
            now_searchable = await searchable(backlog_ids)
            assert await status() is ProductStatus.ON_SALE, (
                f"the sale was not open {LATE_AT_MOST} s after its start ({now_searchable} of {BACKLOG} searchable)"
            )
            async with database.transaction() as db:
                opened_at = await db.scalar(
                    select(ProductStatusChange.created_at).where(
                        ProductStatusChange.product_id == sale.id,
                        ProductStatusChange.to_status == ProductStatus.ON_SALE,
                    )
                )
                opening_event = (
                    await db.execute(
                        select(OutboxEvent.id).where(*_status_events(sale.id), OutboxEvent.id != scheduled_event)
                    )
                ).scalar_one()
            late = (opened_at - starts_at).total_seconds()
            assert 0 <= late <= LATE_AT_MOST, f"the sale opened {late:.2f} s after its start"

            # the opening's event (the drop gate, the live page) does not wait for the import's indexing
            async def opening_handled() -> list[datetime]:
                times = await handled_by(opening_event)
                return times if len(times) == len(handlers_for(Topic.PRODUCT_STATUS_CHANGED)) else []

            times = await _until(opening_handled, 60, "the opening's event to be handled")
            event_late = (max(times) - opened_at).total_seconds()
            print(
                f"opened {late:.2f} s after its start, {now_searchable} of {BACKLOG} imported products "
                f"searchable by then; the opening's event handled {event_late:.2f} s later"
            )
            assert event_late <= EVENT_AT_MOST, f"the opening's event was handled {event_late:.2f} s after it"

            # and the whole import becomes searchable
            async def all_searchable() -> bool:
                return await searchable(backlog_ids) == BACKLOG

            await _until(all_searchable, 60, "every imported product in the index", every=0.2)
    finally:
        if worker is not None:
            print(f"the worker stopped in {stop_worker(worker):.1f} s")
