"""A real drop crowd with faults, against real server processes (PostgreSQL + Redis only).

The Procfile's processes — ``uvicorn tasks.web:create_app --factory --workers 2`` and one
``dramatiq tasks.worker`` — serve 120 signed-in shoppers on a 40-unit drop (limit 1 each) with a
20 s payment hold. Every shopper browses the product page and presses Buy three times (a third of
the presses replay the shopper's previous key); viewers keep refreshing the page meanwhile. One
second in, Redis loses everything (``FLUSHDB``: sessions, gate, queues); two seconds in, one web
process is killed with SIGKILL. A shopper signed out by the flush signs in again and presses again
with the same key; a press whose connection was cut is sent again with the same key.

Then: no unit oversold, nobody above the limit, every "Yours!" backed by exactly one right, every
replay of a key answered like its first answer (a granted key stays its right, a refusal stays that
refusal), no HTTP 5xx, the ledger adding up, the gate equal to the database once the unpaid rights
have expired, and every unit sold again to a second wave.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, insert, select

from app.accounts.passwords import PasswordHasher
from app.drops.gate import RedisGate
from app.drops.rules import LIVE_RIGHTS
from app.drops.stock import ledger_sum, open_stock
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus
from app.models.members import Member
from tests.helpers.backends import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.helpers.sql import count_by

pytestmark = [
    pytest.mark.skipif(not (TEST_DATABASE_URL and TEST_REDIS_URL), reason="a real crowd needs PostgreSQL and Redis"),
    pytest.mark.slow,
]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "crowd-password-1"
SHOPPERS, UNITS, HOLD_SECONDS, VIEWERS = 120, 40, 20, 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Shop:
    base: str
    web: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]

    def web_workers(self) -> list[int]:
        """The web server's worker processes (not multiprocessing's resource tracker)."""
        try:
            text = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text()
        except OSError:
            return []
        workers = []
        for pid in map(int, text.split()):
            with contextlib.suppress(OSError):
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
        return workers


@contextlib.contextmanager
def running_shop(settings, log: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_", "REDIS_"))}
    port = free_port()
    env |= {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "SMORE_VAR_DIR": str(settings.var_dir),
        "SANDBOX_GATEWAY": "1",
        "PORT": str(port),
        "PURCHASE_HOLD_SECONDS": str(HOLD_SECONDS),
        "SWEEP_SECONDS": "2",
        "EVENT_RESEND_SECONDS": "3",
    }
    out = log.open("ab")
    web_command = [sys.executable, "-m", "uvicorn", "tasks.web:create_app", "--factory", "--workers", "2"]
    web_command += ["--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "3", "--no-access-log"]
    worker_command = [sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1", "--threads", "8"]
    worker_command += ["--worker-shutdown-timeout", "5000"]
    start = functools.partial(subprocess.Popen, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    web = start(web_command)
    worker = start(worker_command)
    shop = Shop(f"http://127.0.0.1:{port}", web, worker)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, f"the shop did not start: {log.read_text()[-3000:]}"
            assert web.poll() is None, f"the web server exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{shop.base}/healthz", timeout=2).status_code == 200 and len(shop.web_workers()) == 2:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        time.sleep(1.0)  # both web processes through their start-up
        yield shop
    finally:
        for proc in (web, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.close()


async def seed(app, members, products, shoppers: int) -> tuple[int, list[str]]:
    """The seller's drop on sale with its stock open, and ``shoppers`` members (written at once)."""
    seller = await members.seller("seller@crowd.test")
    category = await products.category("crowd", "Crowd")
    product = await products.create(
        seller,
        status=ProductStatus.ON_SALE,
        category_id=category.id,
        list_price=30_000,
        total_quantity=UNITS,
        fixed_quantity=UNITS,
        purchase_limit=1,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )
    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)
    async with app.state.database.transaction() as db:
        await open_stock(db, await db.get(Product, product.id))
        rows = [
            {"email": f"shopper{i}@crowd.test", "display_name": f"Shopper {i}", "password_hash": password_hash}
            for i in range(shoppers)
        ]
        await db.execute(insert(Member), rows)
    return product.id, [row["email"] for row in rows]


@dataclass
class Record:
    """What the crowd saw."""

    answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # key → answers
    owner: dict[str, str] = field(default_factory=dict)  # key → email
    statuses: Counter[int] = field(default_factory=Counter)
    cut: int = 0
    signed_in_again: int = 0
    views: int = 0


def answer_of(status: int, body: str) -> str | None:
    """``right:<id>`` for a granted key (held, expired or paid), the refusal otherwise."""
    if status != 200:
        return None
    if match := re.search(r'data-right="(\d+)"', body):
        return f"right:{match.group(1)}"
    for text, name in (("Sold out", "sold_out"), ("your limit", "limit"), ("Not on sale", "not_on_sale")):
        if text in body:
            return name
    return f"other:{body[:80]}"


class Shopper:
    def __init__(self, shop: Shop, email: str, record: Record, logins: asyncio.Semaphore) -> None:
        self.shop, self.email, self.record, self.logins = shop, email, record, logins
        self.client = httpx.AsyncClient(base_url=shop.base, timeout=60, follow_redirects=False)

    async def sign_in(self) -> None:
        async with self.logins:  # the throttle counts attempts in flight per address
            for _ in range(20):
                try:
                    await self.client.get("/login")
                    r = await self.client.post(
                        "/login",
                        data={"email": self.email, "password": PASSWORD, "_csrf_token": self.csrf},
                        headers={"x-csrftoken": self.csrf},
                    )
                except httpx.TransportError:
                    self.record.cut += 1
                    await asyncio.sleep(0.2)
                    continue
                self.record.statuses[r.status_code] += 1
                if r.status_code == 303:
                    return
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.email} could not sign in")

    @property
    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken") or ""

    async def view(self, product_id: int) -> None:
        try:
            r = await self.client.get(f"/products/{product_id}")
        except httpx.TransportError:
            self.record.cut += 1
            return
        self.record.statuses[r.status_code] += 1
        self.record.views += 1

    async def press(self, product_id: int, key: str) -> str:
        """Press Buy with ``key`` until the shop answers it (signing in again, re-sending a press
        whose connection was cut); returns the answer."""
        self.record.owner[key] = self.email
        for _ in range(30):
            try:
                r = await self.client.post(
                    f"/products/{product_id}/buy",
                    data={"key": key, "_csrf_token": self.csrf},
                    headers={"HX-Request": "true", "HX-Target": "buy-box", "x-csrftoken": self.csrf},
                )
            except httpx.TransportError:
                self.record.cut += 1  # the killed web process: send the same press again
                await asyncio.sleep(0.1)
                continue
            self.record.statuses[r.status_code] += 1
            if r.status_code == 204 and r.headers.get("hx-redirect", "").startswith("/login"):
                self.record.signed_in_again += 1  # the flush took the session
                await self.sign_in()
                continue
            if r.status_code == 403:  # the CSRF cookie went with the session's page: take a fresh one
                await self.client.get("/login")
                continue
            answer = answer_of(r.status_code, r.text)
            assert answer is not None, f"press answered {r.status_code}: {r.text[:300]}"
            self.record.answers[key].append(answer)
            return answer
        raise AssertionError(f"a press of {self.email} was never answered")

    async def close(self) -> None:
        await self.client.aclose()


async def rights_by_key(app, product_id: int) -> dict[str, PurchaseRight]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(PurchaseRight).where(PurchaseRight.product_id == product_id))
        return {r.idempotency_key: r for r in rows.scalars()}


async def stock(app, product_id: int) -> tuple[Product, int, dict[int, int]]:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        held = await count_by(
            db, PurchaseRight.member_id, PurchaseRight.product_id == product_id, PurchaseRight.status.in_(LIVE_RIGHTS)
        )
        return product, await ledger_sum(db, product_id), held


async def eventually(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        if value := await check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


@pytest.fixture
def settings(settings):
    return settings.with_changes(in_process_worker=False, background_jobs=False)


async def test_a_drop_crowd_with_a_redis_flush_and_a_killed_web_process(app, members, products, settings, tmp_path):
    async with asyncio.timeout(300):
        await _crowd(app, members, products, settings, tmp_path)


async def _crowd(app, members, products, settings, tmp_path):
    product_id, emails = await seed(app, members, products, SHOPPERS)
    rng = random.Random(7)
    record = Record()
    logins = asyncio.Semaphore(8)
    log = tmp_path / "shop.log"
    with running_shop(settings, log) as shop:
        shoppers = [Shopper(shop, email, record, logins) for email in emails]
        await asyncio.gather(*(s.sign_in() for s in shoppers))
        go = asyncio.Event()
        done = asyncio.Event()

        async def shop_for(shopper: Shopper) -> None:
            await go.wait()
            await asyncio.sleep(rng.random() * 1.5)
            await shopper.view(product_id)
            last = None
            for _ in range(3):
                key = last if last is not None and rng.random() < 1 / 3 else uuid.uuid4().hex
                await shopper.press(product_id, key)
                last = key

        async def keep_viewing(viewer: Shopper) -> None:
            await go.wait()
            while not done.is_set():
                await viewer.view(product_id)
                await asyncio.sleep(rng.random() * 0.3)

        async def faults() -> dict[str, float]:
            await go.wait()
            started = time.monotonic()
            await asyncio.sleep(1.0)
            redis = Redis.from_url(settings.redis_url)
            await redis.flushdb()
            await redis.aclose()
            flushed = time.monotonic() - started
            await asyncio.sleep(1.0)
            victim = shop.web_workers()[0]
            os.kill(victim, signal.SIGKILL)
            return {"flushed": flushed, "killed": time.monotonic() - started}

        viewers = [Shopper(shop, emails[i], record, logins) for i in range(VIEWERS)]
        for viewer, shopper in zip(viewers, shoppers, strict=False):
            viewer.client.cookies = shopper.client.cookies  # the same shoppers, in a second tab
        tasks = [asyncio.create_task(shop_for(s)) for s in shoppers]
        watching = [asyncio.create_task(keep_viewing(v)) for v in viewers]
        fault = asyncio.create_task(faults())
        go.set()
        await asyncio.gather(*tasks)
        done.set()
        await asyncio.gather(*watching)
        timing = await fault

        # a replay of every key pressed, after the faults
        owner_of = {s.email: s for s in shoppers}
        await asyncio.gather(*(owner_of[email].press(product_id, key) for key, email in list(record.owner.items())))

        product, ledger, held = await stock(app, product_id)
        rights = await rights_by_key(app, product_id)
        granted_keys = {k for k, answers in record.answers.items() if answers[0].startswith("right:")}
        assert product.taken_quantity <= product.fixed_quantity == UNITS
        assert ledger == product.fixed_left, "the ledger adds up to the stock"
        assert max(held.values(), default=0) <= 1, "nobody holds more than the limit"
        assert len(granted_keys) == product.taken_quantity == sum(held.values()), "every unit taken is a Yours!"
        for k in granted_keys:
            right = rights[k]
            assert record.answers[k][0] == f"right:{right.id}", "a Yours! is backed by its own right"
        assert len({record.answers[k][0] for k in granted_keys}) == len(granted_keys), "one right per Yours!"
        changed = {k: a for k, a in record.answers.items() if len(set(a)) != 1}
        assert changed == {}, "a replayed key changed its answer"
        replays = sum(len(a) - 1 for a in record.answers.values())
        fivexx = {s: n for s, n in record.statuses.items() if s >= 500}
        assert fivexx == {}, f"HTTP 5xx answers: {fivexx}"
        assert record.signed_in_again > 0 and record.cut > 0, "the faults hit the crowd"
        assert len(shop.web_workers()) == 2, "the killed web process was replaced"

        # the unpaid rights expire (their delayed messages went with the flush: the sweep finds
        # them); the units come back, and the gate agrees with the database
        async def all_back() -> bool:
            product, ledger, held = await stock(app, product_id)
            return product.taken_quantity == 0 and ledger == UNITS and not held

        await eventually(all_back, HOLD_SECONDS + 40, "every unpaid right to expire")
        gate = RedisGate(settings.redis_url)
        try:

            async def gate_agrees() -> bool:
                state = await gate.state(product_id)
                return state is not None and state.left == UNITS and not any(state.holdings.values())

            await eventually(gate_agrees, 15, "the gate to agree with the database")
        finally:
            await gate.close()
        async with app.state.database.transaction() as db:
            expired = await db.scalar(
                select(func.count()).where(
                    PurchaseRight.product_id == product_id, PurchaseRight.status == RightStatus.EXPIRED
                )
            )
        assert expired == len(granted_keys)
        for k in list(granted_keys)[:10]:  # an expired right is still its key's answer
            assert await owner_of[record.owner[k]].press(product_id, k) == record.answers[k][0]

        # a second wave: the refused shoppers press again with new keys and get every unit
        second = [s for s in shoppers if not any(record.owner.get(k) == s.email for k in granted_keys)]
        again = await asyncio.gather(*(s.press(product_id, uuid.uuid4().hex) for s in second))
        assert sum(a.startswith("right:") for a in again) == UNITS
        product, ledger, held = await stock(app, product_id)
        assert product.taken_quantity == UNITS and ledger == 0 and max(held.values()) == 1
        for s in shoppers + viewers:
            await s.close()
    print(
        f"crowd: {sum(len(a) for a in record.answers.values())} answers to {len(record.answers)} keys, "
        f"{replays} replays, {record.views} page views, {record.cut} connections cut, "
        f"{record.signed_in_again} signed in again, statuses {dict(record.statuses)}, faults at {timing}"
    )
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line or " 500 " in line]
    print(f"server log: {len(errors)} tracebacks")
