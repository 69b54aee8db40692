"""Drop benchmark: a crowd presses Buy on a 1,000-unit drop, on PostgreSQL + Redis.

    .venv/bin/python -m bench.drop                        # every shape; print the Markdown report
    .venv/bin/python -m bench.drop --shape sweep --compare-servers
    make bench-drop                                       # every shape, both servers, --write docs/BENCHMARKS.md

It creates a fresh database (``smore_bench``, migrated with ``alembic upgrade head``), flushes a Redis
database of its own (``/9``), seeds N members with one cheap argon2 hash and a signed-in session each
(written straight into the Redis session store the app reads), and products on sale with a
1,000-unit fixed quantity and a limit of 1 (one per run, so each starts full; and a one-unit
product sold out before the cost step). Each run gets a fresh server with two workers
(``--server uvicorn`` or ``granian``). The shapes (``--shape``, repeatable; all by default):

- ``closed``: N clients, each with its own keep-alive connection, session and CSRF cookie (taken once,
  by one GET, before the clock starts), all start together and press Buy ``--presses`` times with a
  fresh key each, as the page's htmx form does; four times, against
  ``tasks.web:create_app`` (the shop: presses decided in batches, one short transaction each),
  ``bench.drop_naive:create_app`` (the naive Buy path, ``SELECT … FOR UPDATE`` per press),
  ``bench.drop_ceiling:create_app`` (a bare Litestar endpoint rendering a small fragment), and the
  shop again with ``--viewers`` (2,000) signed-in shoppers refreshing the product page every
  0.5–1.5 s (HTTP 5xx and database connections at the peak are the point of this run). After each
  run of the shop its ``/metrics`` (read with ``METRICS_TOKEN``) are printed beside the benchmark's
  counts (they must agree), with its batch sizes.
- ``burst`` (open loop, ``bench/openloop.py``): ``--burst`` (10,000) members press once each,
  spread over the first second, each on its own connection whatever the earlier answers; the shop
  and the ceiling. When the last unit was decided, p50/p99/max, 5xx, oversold, fairness.
- ``sweep`` (open loop): constant rates rising in steps (``--steps``), each press on an idle
  connection of a pool of ``--pool`` signed-in connections (none idle: starved, counted); the shop
  and the ceiling, each until its first step with p99 over 250 ms.
- ``cost``: ``--cost-rate`` presses/s on the sold-out product and on the ceiling, the workers' CPU
  per answer from ``/proc``.

``--compare-servers`` runs the sweep and the cost under uvicorn and under Granian, with a table.
The database is checked after each run of the shop: taken ≤ fixed, HELD + PAID rights = taken,
ledger sum = fixed units left, nobody above the limit. The load generator is raw asyncio HTTP/1.1
on uvloop in this process; its CPU use is reported. ``--metrics off`` runs the servers with
``METRICS=0``, ``--logs off`` with ``LOG_LEVEL=WARNING`` instead of production's JSON lines at INFO.

Diagnostics: ``--timeline`` prints the answers per second of each closed run; ``--profile DIR``
samples each worker with py-spy; ``--only shop|naive|ceiling`` runs some of the closed ones;
``--patience`` is how long to wait for a quiet machine before each run. The servers' output goes
to ``var/bench-drop-server.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import platform
import random
import re
import resource
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import asyncpg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import PasswordHasher
from app.db import Database
from app.drops.stock import ledger_sum, open_stock
from app.models.base import utcnow
from app.models.catalog import Category, Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus
from app.models.members import Member, MemberRole
from app.settings import PROJECT_ROOT, Settings
from bench import metrics as server_metrics
from bench import openloop
from bench.report import write_section

T = TypeVar("T")

BIN = Path(sys.executable).parent
METRICS_TOKEN = secrets.token_urlsafe(32)  # the servers' /metrics, read after each run
SESSION_COOKIE = "session"  # RotatingSessionConfig's default key
CSRF_COOKIE = "csrftoken"


@dataclass(frozen=True)
class Target:
    label: str
    factory: str
    product: str  # "shop", "naive" or "" (the ceiling has no product)


TARGETS = [
    Target("Smore (batched decisions, answers kept by key)", "tasks.web:create_app", "shop"),
    Target("Naive (no gate, `SELECT … FOR UPDATE`)", "bench.drop_naive:create_app", "naive"),
    Target("Framework ceiling (bare Litestar fragment)", "bench.drop_ceiling:create_app", ""),
    Target("Smore with product-page viewers refreshing", "tasks.web:create_app", "viewed"),
]
# Cost only: the ceiling plus the round trips a refused press cannot do without, on the bare drivers.
FLOOR = Target("Floor (the ceiling plus a refused press's own round trips)", "bench.drop_floor:create_app", "")


SERVERS = ("uvicorn", "granian")


@dataclass
class Result:
    target: Target
    attempts: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    sold_out_after: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    per_worker: list[float] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)  # presses and views
    views: list[float] = field(default_factory=list)  # page latencies, ms
    view_failures: collections.Counter[str] = field(default_factory=collections.Counter)
    connections: dict[str, int] = field(default_factory=dict)  # database connections at the peak

    @property
    def fivexx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k not in {"granted", "sold_out", "limit"})

    @property
    def oversold(self) -> int | None:
        if not self.checks:
            return None
        c = self.checks
        return max(0, c["taken"] - c["fixed"]) + abs(c["rights"] - c["taken"]) + abs(c["ledger"] - c["left"])


# ---------------------------------------------------------------- set-up


async def prepare_database(pg_url: str, name: str) -> str:
    admin = await asyncpg.connect(pg_url.rstrip("/") + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return pg_url.rstrip("/") + "/" + name


def fresh_shop(args: argparse.Namespace, tmp: str, **more: str) -> dict[str, str]:
    """A new database (migrated) and an empty Redis database for the servers; their environment."""
    database_url = asyncio.run(prepare_database(args.postgres, args.database))
    asyncio.run(flush_redis(args.redis))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_", "REDIS_"))}
    env |= {
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis,
        "SMORE_VAR_DIR": tmp,
        "SECRET_KEY": secrets.token_urlsafe(48),  # every worker must sign CSRF tokens alike
        "SANDBOX_GATEWAY": "1",  # test payments through the built-in sandbox gateway
        # No task worker runs here, so nothing marks the drop's events handled: without this the
        # web processes' relays would send every granted right's event again 30 s later, then
        # 60 s, 120 s… in waves of thousands that land on whatever shape is running then. With a
        # worker (production) an event is sent once; so it is here.
        "EVENT_RESEND_SECONDS": "86400",
        "METRICS": "1" if getattr(args, "metrics", "on") == "on" else "0",
        # production's logging (JSON lines, INFO: every request but the Buy presses, which log at
        # DEBUG), or only warnings
        **(
            {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
            if getattr(args, "logs", "on") == "on"
            else {"LOG_LEVEL": "WARNING"}
        ),
        "METRICS_TOKEN": METRICS_TOKEN,
        **more,
    }
    subprocess.run([str(BIN / "alembic"), "upgrade", "head"], env=env, cwd=PROJECT_ROOT, check=True)
    return env


async def seller_and_members(
    db: AsyncSession, password_hash: str, who: str, count: int
) -> tuple[Member, Category, list[int]]:
    """A seller, a category and ``count`` members called "{who} {i}" (one multi-row insert)."""
    seller = Member(
        email="seller@bench.test", display_name="Bench seller", password_hash=password_hash, role=MemberRole.SELLER
    )
    category = Category(slug="bench", name="Bench")
    db.add_all([seller, category])
    await db.flush()
    rows = [
        {"email": f"{who.lower()}{i}@bench.test", "display_name": f"{who} {i}", "password_hash": password_hash}
        for i in range(count)
    ]
    return seller, category, list((await db.scalars(insert(Member).returning(Member.id), rows)).all())


# Products: the closed loop's three, the burst's, one per server for the sweep, and a one-unit
# product sold out before the cost step (every press of it refused).
KINDS = ("shop", "naive", "viewed", "burst", *(f"sweep-{kind}" for kind in SERVERS), "sold")


async def seed(settings: Settings, clients: int, units: int) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """N shoppers with one precomputed (cheap) argon2 hash, a seller, two products on sale with their
    opening ledger rows; a server-side session per shopper in the app's Redis session store."""

    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash("bench-password")
    database = Database(settings)
    async with database.transaction() as db:
        seller, category, member_ids = await seller_and_members(db, password_hash, "Shopper", clients)
        products: dict[str, int] = {}
        for kind in KINDS:
            product = Product(
                seller_id=seller.id,
                category_id=category.id,
                name=f"Bench drop ({kind})",
                description="A drop for the benchmark.",
                list_price=50_000,
                total_quantity=1 if kind == "sold" else units,
                fixed_quantity=1 if kind == "sold" else units,
                purchase_limit=1,
                sale_starts_at=utcnow() - timedelta(minutes=1),
                status=ProductStatus.ON_SALE,
            )
            db.add(product)
            await db.flush()
            await open_stock(db, product)
            products[kind] = product.id
    await database.dispose()

    return products, await signed_in(settings, member_ids)


async def signed_in(settings: Settings, member_ids: list[int]) -> list[tuple[int, str]]:
    """A server-side session per member, written straight into the Redis store the servers read."""
    from litestar.middleware.session.server_side import ServerSideSessionBackend
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    store = RedisStore(redis, namespace="smore").with_namespace("sessions")  # as app.asgi wires it
    sessions = []
    for member_id in member_ids:
        session_id = secrets.token_hex(32)
        await store.set(session_id, ServerSideSessionBackend.serialize_data({"member_id": member_id}), 3600)
        sessions.append((member_id, session_id))
    await redis.aclose()
    return sessions


async def check(settings: Settings, product_id: int) -> dict[str, int]:
    database = Database(settings)
    async with database.transaction() as db:
        product = await db.get(Product, product_id)
        assert product is not None
        live = PurchaseRight.status.in_([RightStatus.HELD, RightStatus.PAID])
        rights = await db.scalar(select(func.count()).where(PurchaseRight.product_id == product_id, live))
        per_member = (
            select(PurchaseRight.member_id)
            .where(PurchaseRight.product_id == product_id, live)
            .group_by(PurchaseRight.member_id)
            .having(func.count() > product.purchase_limit)
            .subquery()
        )
        over_limit = await db.scalar(select(func.count()).select_from(per_member))
        checks = {
            "fixed": product.fixed_quantity,
            "taken": product.taken_quantity,
            "left": product.fixed_left,
            "rights": int(rights or 0),
            "ledger": await ledger_sum(db, product_id),
            "over_limit": int(over_limit or 0),
        }
    await database.dispose()
    return checks


# ---------------------------------------------------------------- servers and CPU


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(kind: str, factory: str, port: int, workers: int) -> list[str]:
    """Both servers as production would run them: N worker processes, uvloop, HTTP/1.1 with
    keep-alive (idle connections kept for 2 minutes, or as long as Granian allows), a deep backlog."""
    if kind == "granian":
        command = [str(BIN / "granian"), factory, "--factory", "--interface", "asgi", "--workers", str(workers)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "1"]
        command += ["--http1-keep-alive", "--http1-header-read-timeout", "60000", "--no-ws"]
        return [*command, "--log-level", "warning", "--no-access-log", "--backlog", "4096"]
    command = [str(BIN / "uvicorn"), factory, "--factory", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "120"]
    return [*command, "--backlog", "4096"]


def server_line(kind: str, workers: int) -> str:
    if kind == "granian":
        return (
            f"`granian <factory> --factory --interface asgi --workers {workers}` (uvloop, HTTP/1.1 keep-alive, "
            "no access log, backlog 4096)"
        )
    return f"`uvicorn <factory> --factory --workers {workers}` (uvloop, httptools, no access log, backlog 4096)"


class Server:
    def __init__(self, factory: str, env: dict[str, str], log: Path, workers: int, kind: str = "uvicorn") -> None:
        self.port = free_port()
        self.kind = kind
        self.expected = workers
        self.command = server_command(kind, factory, self.port, workers)
        self.env = env | {"PORT": str(self.port)}
        self.log = log

    def __enter__(self) -> Server:
        self.out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.command, env=self.env, cwd=PROJECT_ROOT, stdout=self.out, stderr=self.out, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= self.expected:
                        time.sleep(1.0)  # let the second worker finish its start-up too
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        """The worker processes: the supervisor's children, for uvicorn and Granian alike, but for
        multiprocessing's resource tracker (a child of uvicorn's supervisor too)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        pids = []
        for pid in map(int, text.split()):
            try:
                if b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
            except OSError:
                continue
            pids.append(pid)
        return pids

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this benchmark started
            self.proc.wait()
        self.out.close()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return seconds


def pids_named(*names: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith(names):
                pids.append(int(entry.name))
    return pids


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every core, kernel included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK  # all but idle and iowait


PATIENCE = [180.0]  # seconds to wait for a quiet machine before each run (``--patience``)


def wait_until_quiet(limit: float = 0.3, patience: float | None = None) -> float:
    """Other work on the machine skews every figure: wait (a while) until it is nearly idle."""
    deadline = time.monotonic() + (PATIENCE[0] if patience is None else patience)
    while True:
        before = machine_busy()
        time.sleep(3)
        busy = (machine_busy() - before) / 3
        if busy < limit or time.monotonic() > deadline:
            return busy


class CpuWatch(threading.Thread):
    """CPU used per group of processes during a run. Polled, so that processes which start and end
    meanwhile count too (the PostgreSQL backend behind each overflow connection of a pool)."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.done = threading.Event()

    def poll(self, initial: bool = False) -> None:
        groups = {
            "server": self.server.workers(),
            "postgres": pids_named("postgres"),
            "redis": pids_named("redis-server"),
        }
        for group, pids in groups.items():
            for pid, seconds in cpu_seconds(pids).items():
                self.first.setdefault((group, pid), seconds if initial else 0.0)
                self.last[(group, pid)] = seconds

    def start(self) -> None:
        self.poll(initial=True)
        self.machine = machine_busy()
        super().start()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.poll()

    def finish(self, wall: float) -> tuple[dict[str, float], list[float]]:
        """Cores used per group (and by the whole machine), and per server worker."""
        self.done.set()
        self.join()
        self.poll()
        cores: dict[str, float] = collections.defaultdict(float)
        workers: dict[int, float] = {}
        for (group, pid), seconds in self.last.items():
            used = (seconds - self.first[(group, pid)]) / wall
            cores[group] += used
            if group == "server":
                workers[pid] = used
        cores["machine"] = (machine_busy() - self.machine) / wall
        return dict(cores), [workers[pid] for pid in sorted(workers)]


# ---------------------------------------------------------------- load generator


class Client:
    """One shopper: a keep-alive HTTP/1.1 connection with its own cookies."""

    def __init__(self, port: int, session_id: str) -> None:
        self.port = port
        self.session_id = session_id
        self.csrf = ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def _cookies(self) -> str:
        cookies = f"{SESSION_COOKIE}={self.session_id}"
        return cookies + (f"; {CSRF_COOKIE}={self.csrf}" if self.csrf else "")

    async def take_csrf_cookie(self, product_id: int) -> None:
        head = f"GET /products/{product_id}/buy-box HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n"
        status, _, cookies = await self.roundtrip((head + "HX-Request: true\r\n\r\n").encode())
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if name.strip() == CSRF_COOKIE:
                self.csrf = value.strip()
        if status != 200:
            raise RuntimeError(f"GET buy-box answered {status}")

    def view(self, product_id: int) -> bytes:
        return f"GET /products/{product_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n\r\n".encode()

    def press(self, product_id: int) -> bytes:
        body = f"key={uuid.uuid4().hex}&_csrf_token={self.csrf}"
        return (
            f"POST /products/{product_id}/buy HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n"
            f"HX-Request: true\r\nHX-Target: buy-box\r\nX-CSRFToken: {self.csrf}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()

    async def roundtrip(self, request: bytes) -> tuple[int, bytes, list[str]]:
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close, cookies = 0, False, False, []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "set-cookie":
                cookies.append(value)
        if chunked:
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, body, cookies

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def classify(status: int, body: bytes) -> str:
    if status == 200 and b"Yours!" in body:
        return "granted"
    if status == 200 and b"Sold out" in body:
        return "sold_out"
    if status == 200 and b"your limit" in body:
        return "limit"
    return f"HTTP {status}"


def profile(pid: int, directory: Path, target: Target | str) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) samples a worker until interrupted; collapsed stacks per worker."""
    directory.mkdir(parents=True, exist_ok=True)
    name = target if isinstance(target, str) else target.product or "ceiling"
    out = directory / f"{name}-{pid}.txt"
    command = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "-o", str(out)]
    return subprocess.Popen([*command, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def watch_connections(pg_url: str, database: str, stop: asyncio.Event) -> dict[str, int]:
    """The most connections to the benchmark's database seen at once (polled every 100 ms), and the
    most of them running a statement or waiting for a lock at once."""
    conn = await asyncpg.connect(pg_url)
    peak = {"open": 0, "busy": 0, "waiting": 0}
    query = """SELECT count(*), count(*) FILTER (WHERE state <> 'idle'),
                      count(*) FILTER (WHERE wait_event_type = 'Lock')
               FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"""
    try:
        while not stop.is_set():
            total, busy, waiting = await conn.fetchrow(query, database)
            peak = {
                "open": max(peak["open"], total),
                "busy": max(peak["busy"], busy),
                "waiting": max(peak["waiting"], waiting),
            }
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)
    finally:
        await conn.close()
    return peak


async def drive(
    target: Target,
    server: Server,
    sessions: list[tuple[int, str]],
    product_id: int,
    presses: int,
    profile_dir: Path | None = None,
    viewers: int = 0,
    pg: tuple[str, str] | None = None,
) -> Result:
    clients = [Client(server.port, session_id) for _, session_id in sessions]
    # viewers: the same signed-in shoppers with the product page open in a second tab, refreshing it
    watchers = [Client(server.port, session_id) for _, session_id in sessions[:viewers]]
    gate = asyncio.Semaphore(200)

    async def warm(client: Client) -> None:
        async with gate:
            await client.connect()
            await client.take_csrf_cookie(product_id)

    async def connect(client: Client) -> None:
        async with gate:
            await client.connect()

    await asyncio.gather(*(warm(c) for c in clients), *(connect(w) for w in watchers))
    result = Result(target)
    go = asyncio.Event()
    finished = asyncio.Event()
    started = 0.0

    async def shopper(client: Client) -> None:
        await go.wait()
        for _ in range(presses):
            request = client.press(product_id)
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(60):
                    status, body, _ = await client.roundtrip(request)
                outcome = classify(status, body)
                result.statuses[status] += 1
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                outcome = type(exc).__name__
                client.close()
            t1 = time.perf_counter()
            result.latencies.append((t1 - t0) * 1000)
            result.timeline.append((t1 - started, outcome))
            result.outcomes[outcome] += 1
            if outcome == "granted":
                result.sold_out_after = t1 - started

    rng = random.Random(5)

    async def viewer(client: Client) -> None:
        await go.wait()
        await asyncio.sleep(rng.random())  # refreshes spread over the first second
        while not finished.is_set():
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(60):
                    status, _, _ = await client.roundtrip(client.view(product_id))
                result.statuses[status] += 1
                result.views.append((time.perf_counter() - t0) * 1000)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                result.view_failures[type(exc).__name__] += 1
                client.close()
            await asyncio.sleep(0.5 + rng.random())  # a person reading, then refreshing

    tasks = [asyncio.create_task(shopper(c)) for c in clients]
    looking = [asyncio.create_task(viewer(w)) for w in watchers]
    await asyncio.sleep(0.5)
    profilers = [profile(pid, profile_dir, target) for pid in server.workers()] if profile_dir else []
    stop_watching = asyncio.Event()
    counting = asyncio.create_task(watch_connections(*pg, stop_watching)) if pg else None
    watch = CpuWatch(server)
    watch.start()
    client_before = time.process_time()
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    finished.set()
    await asyncio.gather(*looking)
    result.cpu, result.per_worker = watch.finish(time.perf_counter() - started)
    stop_watching.set()
    if counting is not None:
        result.connections = await counting
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)
    result.cpu["client"] = (time.process_time() - client_before) / result.seconds
    result.cpu["other"] = max(0.0, result.cpu.pop("machine") - sum(result.cpu.values()))
    result.attempts = len(result.latencies)
    for client in clients + watchers:
        client.close()
    return result


def sockets_per_worker(server: Server) -> list[int]:
    """How many sockets each worker holds (the kernel gave each its share of the connections)."""
    counts = []
    for pid in server.workers():
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        counts.append(sum(1 for fd in fds if _is_socket(fd)))
    return sorted(counts, reverse=True)


def _is_socket(fd: Path) -> bool:
    try:
        return os.readlink(fd).startswith("socket:")
    except OSError:
        return False


async def drive_burst(
    server: Server, sessions: list[tuple[int, str]], product_id: int, spread: float
) -> tuple[list, list[int]]:
    """The burst shape: every member presses Buy once, the presses spread over the first ``spread``
    seconds of the sale and sent on schedule whatever the answers (``bench/openloop.py``). Also the
    sockets each worker held when the burst began (how the kernel split the connections)."""
    clients = await warm_pool(server, sessions, product_id)
    requests = [c.press(product_id) for c in clients]
    split = sockets_per_worker(server)

    async def send(i: int) -> tuple[int, str]:
        status, body, _ = await clients[i].roundtrip(requests[i])
        return status, classify(status, body)

    arrivals, _ = await openloop.fire(openloop.burst_schedule(len(clients), spread), send)
    for client in clients:
        client.close()
    return arrivals, split


def burst_row(label: str, s: openloop.BurstSummary, oversold: int | None, split: list[int] | None = None) -> str:
    last = f"{s.last_unit_s:.2f} s" if s.last_unit_s is not None else "—"
    fair = f"{s.fairness:.1%}" if s.fairness is not None else "—"
    granted = s.outcomes.get("granted", 0)
    return (
        f"| {label} | {s.arrivals:,} | {granted:,} | {last} | {s.p50_ms:,.0f} | {s.p99_ms:,.0f} | {s.max_ms:,.0f} "
        f"| {s.fivexx} | {'—' if oversold is None else oversold} | {fair} "
        f"| {'—' if s.reordered_ms is None else f'{s.reordered_ms:,.0f}'} | {s.late_ms_p99:,.0f} "
        f"| {' / '.join(f'{n:,}' for n in split or []) or '—'} |"
    )


# ---------------------------------------------------------------- report


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def timeline(r: Result) -> str:
    """Answers per second of the run, by kind: shows when the units ran out and how the rest went."""
    seconds: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for at, outcome in r.timeline:
        seconds[int(at)][outcome] += 1
    return "\n".join(f"  {s:3d}s {dict(c)}" for s, c in sorted(seconds.items()))


def cpu_model() -> str:
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        match = None
    return match.group(1).strip() if match else platform.processor() or platform.machine()


def row(r: Result) -> str:
    granted = r.outcomes.get("granted", 0) if r.target.product else "—"
    oversold = "—" if r.oversold is None else str(r.oversold)
    cpu = " / ".join(f"{r.cpu.get(k, 0):.2f}" for k in ("server", "postgres", "redis", "client", "other"))
    per_attempt = r.cpu.get("server", 0) * r.seconds / r.attempts * 1000
    connections = f"{r.connections['open']} / {r.connections['busy']}" if r.connections else "—"
    return (
        f"| {r.target.label} | {r.attempts:,} | **{r.rate:,.0f}** | {statistics.median(r.latencies):.0f} | "
        f"**{percentile(r.latencies, 99):.0f}** | {max(r.latencies):.0f} | {granted} | {oversold} | {r.errors} | "
        f"{r.fivexx} | {connections} | {per_attempt:.2f} | {cpu} |"
    )


def viewed_line(r: Result, args: argparse.Namespace) -> str:
    pages = len(r.views)
    fails = ", ".join(f"{k} {v}" for k, v in r.view_failures.items()) or "none"
    return (
        f"Viewers: {args.viewers:,} signed-in shoppers with the product page open in a second tab, each refreshing "
        f"it (`GET /products/{{id}}`) every 0.5–1.5 s after its answer, through the whole drop: {pages:,} pages "
        f"({pages / r.seconds:,.0f}/s), p50 {statistics.median(r.views):.0f} ms, p99 "
        f"{percentile(r.views, 99):.0f} ms; HTTP statuses (presses and pages) "
        f"{dict(sorted(r.statuses.items()))}; failed connections: {fails}. **HTTP 5xx: {r.fivexx}**; database "
        f"connections at the peak: {r.connections.get('open', 0)} open, {r.connections.get('busy', 0)} running a "
        f"statement, {r.connections.get('waiting', 0)} waiting for a lock (budget: 2 processes × (10 + 5))."
    )


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


# The closed loop's figures before issue 17, which its work must not make worse.
BASELINE = {"rate": 1_407, "cpu_ms": 1.12, "p99_ms": 5_202}


def server_cpu_ms(r: Result) -> float:
    return r.cpu.get("server", 0) * r.seconds / r.attempts * 1000


def header(args: argparse.Namespace, command: str, versions: str) -> list[str]:
    return [
        f"Machine: {cpu_model()}, {os.cpu_count()} cores (server, PostgreSQL, Redis and the load generator all "
        f"share them); Python {platform.python_version()}; {versions}; load average "
        f"{os.getloadavg()[0]:.2f} at the end.",
        f"Command: `{command}`",
        "",
        f"Servers: {server_line(args.server, args.workers)}"
        + (
            f"; sweep and cost also under {server_line(next(k for k in SERVERS if k != args.server), args.workers)}"
            if args.compare_servers
            else ""
        )
        + (", metrics on" if args.metrics == "on" else ", METRICS=0")
        + (
            ", JSON log lines at INFO (Buy presses' access lines at DEBUG)."
            if args.logs == "on"
            else ", LOG_LEVEL=WARNING."
        )
        + " The load generator is raw asyncio HTTP/1.1 on uvloop in one process.",
    ]


def closed_block(results: list[Result], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The closed loop's table and notes, and its target lines."""
    shop, naive, ceiling, viewed = results
    p99 = percentile(shop.latencies, 99)
    met = {
        "ceiling": shop.rate >= 0.5 * ceiling.rate,
        "naive": shop.rate >= 4 * naive.rate,
        "p99": p99 <= 250,
        "oversold": shop.oversold == 0 and shop.checks["over_limit"] == 0,
        "viewed": viewed.fivexx == 0 and viewed.oversold == 0 and not viewed.view_failures,
    }
    cpu = server_cpu_ms(shop)
    not_worse = shop.rate >= BASELINE["rate"] and cpu <= BASELINE["cpu_ms"] and p99 <= BASELINE["p99_ms"]
    outcomes = "; ".join(
        f"{r.target.label.split(' (')[0]}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.outcomes.items()))
        for r in results
    )
    checks = "; ".join(
        f"{r.target.label.split(' (')[0]}: taken {c['taken']} of {c['fixed']}, HELD+PAID rights {c['rights']}, "
        f"ledger sum {c['ledger']} = units left {c['left']}, members over the limit {c['over_limit']}"
        for r in results
        if (c := r.checks)
    )
    sold = "; ".join(
        f"{r.target.label.split(' (')[0]} {r.sold_out_after:.2f} s" for r in results[:2] if r.sold_out_after
    )
    block = [
        "### Closed loop",
        "",
        f"{args.clients:,} concurrent clients (one keep-alive connection, session and CSRF cookie each, taken "
        f"before the clock starts), all released at once, each pressing Buy {args.presses} times in a row with a "
        f"fresh key (`POST /products/{{id}}/buy`, htmx headers); a {args.units:,}-unit drop, limit 1 per member.",
        "",
        "| path | attempts | attempts/s | p50 ms | p99 ms | max ms | rights granted | oversold | errors "
        "| HTTP 5xx | DB connections at peak: open / running "
        "| server CPU ms per attempt | CPU cores used: server / PostgreSQL / Redis / client / other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(row(r) for r in results),
        "",
        viewed_line(viewed, args),
        "",
        f"Answers: {outcomes}.",
        "",
        f"Database afterwards: {checks}. Last unit granted after: {sold}.",
    ]
    targets = [
        f"- closed loop, attempts/s ≥ 50 % of the framework ceiling: {shop.rate / ceiling.rate:.0%} — "
        f"{verdict(met['ceiling'])}",
        f"- closed loop, attempts/s ≥ 4× the naive path: {shop.rate / naive.rate:.1f}× — {verdict(met['naive'])}",
        f"- closed loop, p99 ≤ 250 ms: {p99:,.0f} ms — {verdict(met['p99'])} ({args.clients:,} clients at "
        f"{shop.rate:,.0f} attempts/s wait {args.clients / shop.rate:.1f} s per attempt on average, Little's law)",
        f"- closed loop, oversold 0: {shop.oversold} — {verdict(met['oversold'])}",
        f"- closed loop, 0 HTTP 5xx with {args.viewers:,} product-page viewers refreshing: {viewed.fivexx} — "
        f"{verdict(met['viewed'])}",
        f"- closed loop not worse than before (2,000 clients × 5 presses: ≥ {BASELINE['rate']:,} attempts/s, "
        f"≤ {BASELINE['cpu_ms']} ms server "
        f"CPU per attempt, p99 ≤ {BASELINE['p99_ms']:,} ms): {shop.rate:,.0f}/s, {cpu:.2f} ms, {p99:,.0f} ms — "
        f"{verdict(not_worse)}",
    ]
    return block, targets


# ---------------------------------------------------------------- burst, sweep, cost


def report_text(head: list[str], blocks: list[list[str]], targets: list[str], log: Path, errors: list[str]) -> str:
    """A benchmark's section: its header, each shape's block, the targets and the server log's errors."""
    body = [*head]
    for block in blocks:
        body += ["", *block]
    body += ["", "### Targets", "", *targets, "", f"Server log (`var/{log.name}`): {len(errors)} error lines."]
    return "\n".join(body)


def oversold_of(c: dict[str, int]) -> int:
    return max(0, c["taken"] - c["fixed"]) + abs(c["rights"] - c["taken"]) + abs(c["ledger"] - c["left"])


async def warm_pool(server: Server, sessions: list[tuple[int, str]], product_id: int) -> list[Client]:
    clients = [Client(server.port, session_id) for _, session_id in sessions]
    gate = asyncio.Semaphore(200)

    async def warm(client: Client) -> None:
        async with gate:
            await client.connect()
            await client.take_csrf_cookie(product_id)

    await asyncio.gather(*(warm(c) for c in clients))
    return clients


def pooled_press(product_id: int) -> openloop.PooledSend[Client]:
    """One Buy press on a pooled connection; a connection the server closed meanwhile is opened
    again first, one left mid-answer (timeout, reset) is closed."""

    async def send(_: int, client: Client) -> tuple[int, str]:
        if client.reader is not None and client.reader.at_eof():
            client.close()
        try:
            status, body, _ = await client.roundtrip(client.press(product_id))
        except BaseException:
            client.close()
            raise
        return status, classify(status, body)

    return send


@dataclass
class Cost:
    """A constant moderate rate: the server's CPU per answer."""

    steps: openloop.StepSummary
    outcomes: collections.Counter[str]
    server_seconds: float  # CPU seconds of the workers over the step
    idle_seconds: float = 0.0  # what the workers use idle (their background loops) over as long

    @property
    def ms_per_answer(self) -> float:
        """The workers' CPU per answer, less what they use idle over the same time."""
        return max(0.0, self.server_seconds - self.idle_seconds) * 1000 / max(1, self.steps.answered)

    @property
    def gross_ms_per_answer(self) -> float:
        return self.server_seconds * 1000 / max(1, self.steps.answered)


async def idle_cpu(server: Server, seconds: float = 2.0) -> float:
    """The workers' CPU seconds per second with no request to answer (background loops, heartbeats)."""
    before = cpu_seconds(server.workers())
    await asyncio.sleep(seconds)
    after = cpu_seconds(server.workers())
    return sum(after[pid] - before.get(pid, 0.0) for pid in after) / seconds


async def measured(server: Server, work: Awaitable[T]) -> tuple[T, float, float]:
    """Run ``work``; its result, the workers' CPU seconds meanwhile, and their idle CPU over as long."""
    idle = await idle_cpu(server)
    before, started = cpu_seconds(server.workers()), time.perf_counter()
    result = await work
    after, wall = cpu_seconds(server.workers()), time.perf_counter() - started
    return result, sum(after[pid] - before.get(pid, 0.0) for pid in after), idle * wall


async def drive_cost(server: Server, clients: list[Client], product_id: int, rate: float, seconds: float) -> Cost:
    """``rate`` presses/s for ``seconds`` on ``product_id`` (sold out: the first press takes its one
    unit, before the clock), the workers' CPU from /proc between the first send and the last answer."""
    send = pooled_press(product_id)
    await send(0, clients[0])
    pool = openloop.Pool(clients)
    await asyncio.sleep(0.5)
    work = openloop.fire_pooled(openloop.rate_schedule(rate, seconds), pool, send)
    arrivals, used, idle = await measured(server, work)
    step = openloop.step_summary(arrivals, rate, seconds)
    return Cost(step, collections.Counter(a.outcome for a in arrivals), used, idle)


def step_line(who: str, step: openloop.StepSummary) -> None:
    print(
        f"  {who} {step.rate:,.0f}/s: p50 {step.p50_ms:,.0f} ms p99 {step.p99_ms:,.0f} ms, 5xx {step.fivexx}, "
        f"starved {step.starved}, failed {step.failed}, {'passed' if step.passed else 'OVER'}",
        file=sys.stderr,
    )


@dataclass
class Shaped:
    """The open-loop shapes of one target under one server."""

    server: str
    target: Target
    cost: Cost | None = None
    steps: list[openloop.StepSummary] = field(default_factory=list)
    oversold: int | None = None

    @property
    def highest(self) -> float | None:
        return openloop.highest_passing(self.steps)


async def drive_open(
    server: Server, kind: str, target: Target, sessions: list[tuple[int, str]], products: dict[str, int], args
) -> Shaped:
    """Cost, then sweep, on one pool of warmed connections."""
    clients = await warm_pool(server, sessions, products["sold"])
    shaped = Shaped(kind, target)
    if "cost" in args.shapes:
        profilers = [profile(pid, args.profile, target) for pid in server.workers()] if args.profile else []
        shaped.cost = await drive_cost(server, clients, products["sold"], args.cost_rate, args.cost_seconds)
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        step_line(f"{kind} {short(target)} cost", shaped.cost.steps)
        await asyncio.sleep(args.pause)
    if "sweep" in args.shapes and target is not FLOOR:
        who = f"{kind} {short(target)} sweep"
        shaped.steps = await openloop.sweep(
            args.steps,
            args.step_seconds,
            openloop.Pool(clients),
            pooled_press(products[f"sweep-{kind}"]),
            pause=args.pause,
            on_step=lambda step: step_line(who, step),
        )
    for client in clients:
        client.close()
    return shaped


def fmt_ms(ms: float) -> str:
    return "∞" if ms == float("inf") else f"{ms:,.0f}"


def sweep_table(runs: list[Shaped]) -> list[str]:
    lines = [
        "| server | target | rate /s | sent | answered | starved | failed | 5xx | p50 ms | p99 ms "
        "| answers/s | kept up | sender late p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for run in runs:
        for st in run.steps:
            lines.append(
                f"| {run.server} | {short(run.target)} | {st.rate:,.0f} | {st.sent:,} | {st.answered:,} | "
                f"{st.starved:,} | {st.failed:,} | {st.fivexx:,} | {fmt_ms(st.p50_ms)} | "
                f"{'**' + fmt_ms(st.p99_ms) + '**' if not st.passed else fmt_ms(st.p99_ms)} | "
                f"{st.answer_rate:,.0f} | {'yes' if st.kept_up else 'no'} | {st.late_ms_p99:,.0f} |"
            )
    return lines


def short(target: Target) -> str:
    return "floor" if target is FLOOR else "shop" if target.product else "ceiling"


def all_passed(steps: list[openloop.StepSummary]) -> bool:
    return bool(steps) and all(s.passed for s in steps)


def rate_text(rate: float | None, steps: list[openloop.StepSummary] | None = None) -> str:
    """A rate; ``≥`` when every step passed (the sweep found no limit below its highest step)."""
    if rate is None:
        return "none"
    return ("≥ " if steps and all_passed(steps) else "") + f"{rate:,.0f}/s"


def open_blocks(runs: list[Shaped], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """The sweep, the cost and (with both servers) the comparison: their tables and target lines."""
    block: list[str] = []
    targets: list[str] = []
    by = {(r.server, short(r.target)): r for r in runs}
    servers = [k for k in SERVERS if (k, "shop") in by]
    if "sweep" in args.shapes:
        block += [
            "### Sweep (open loop, constant rates)",
            "",
            f"Constant arrival rates rising in steps of {args.step_seconds:g} s "
            f"({', '.join(f'{r:,.0f}' for r in args.steps)} presses/s; {args.pause:g} s between steps to drain), "
            "each press on an idle connection of a pool of "
            f"{args.pool:,} signed-in keep-alive connections (an arrival finding none idle is *starved*: counted, "
            f"not sent); a {args.units:,}-unit drop, limit 1. A target stops after its first step whose p99 is over "
            "250 ms (in bold); a 5xx, a failed or a starved press counts as slower than any limit.",
            "",
            *sweep_table(runs),
            "",
        ]
        for kind in servers:
            shop, ceiling = by[(kind, "shop")], by[(kind, "ceiling")]
            share = openloop.ratio(shop.highest, ceiling.highest)
            targets.append(
                f"- sweep ({kind}), the shop's highest rate with p99 ≤ 250 ms ≥ 40 % of the ceiling's: "
                f"{rate_text(shop.highest, shop.steps)} of {rate_text(ceiling.highest, ceiling.steps)}"
                + (f" = {share:.0%}" if share is not None else "")
                + f" — {verdict(share is not None and share >= 0.4)}"
                + (" (the ceiling passed every step: its own limit is higher)" if all_passed(ceiling.steps) else "")
                + (f" (oversold {shop.oversold})" if shop.oversold else "")
            )
    if "cost" in args.shapes:
        block += [
            "### Cost (server CPU per answer)",
            "",
            f"{args.cost_rate:,.0f} presses/s for {args.cost_seconds:g} s from the same pool, on a sold-out product "
            "(every press refused) and on the ceiling; the workers' CPU (user + system, `/proc/<pid>/stat`) from "
            "the first send to the last answer, per answer, less what the same workers use idle over as long "
            "(measured for 2 s just before: background loops, heartbeats); with it, in brackets.",
            "",
            "| server | target | presses | answers | p50 ms | p99 ms | 5xx | server CPU ms per answer (with idle) |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in runs:
            if r.cost:
                c = r.cost.steps
                block.append(
                    f"| {r.server} | {short(r.target)} | {c.scheduled:,} | {c.answered:,} | {fmt_ms(c.p50_ms)} "
                    f"| {fmt_ms(c.p99_ms)} | {c.fivexx} "
                    f"| **{r.cost.ms_per_answer:.2f}** ({r.cost.gross_ms_per_answer:.2f}) |"
                )
        block.append("")
        for kind in servers:
            floor_run = by.get((kind, "floor"))
            shop, ceiling = by[(kind, "shop")].cost, by[(kind, "ceiling")].cost
            if floor_run and floor_run.cost and shop and ceiling:
                floor = floor_run.cost.ms_per_answer
                block += [
                    f"Floor ({kind}): the ceiling's endpoint plus only what a refused press cannot do without, on "
                    "the bare drivers (`bench/drop_floor.py`: the session read, the key's lookup, one transaction "
                    "that locks the row, reads the snapshot and keeps the refusal, the answer told to the gate) "
                    f"costs **{floor:.2f} ms = {floor / ceiling.ms_per_answer:.1f}× the ceiling**; the shop costs "
                    f"{shop.ms_per_answer / floor:.1f}× the floor.",
                    "",
                ]
            if shop and ceiling:
                times = shop.ms_per_answer / ceiling.ms_per_answer
                refused = sum(n for k, n in shop.outcomes.items() if k in ("sold_out", "limit"))
                targets.append(
                    f"- cost ({kind}), CPU per refused press ≤ 2.5× the bare endpoint's: {shop.ms_per_answer:.2f} "
                    f"against {ceiling.ms_per_answer:.2f} ms = {times:.1f}× — {verdict(times <= 2.5)} "
                    f"({refused:,} of {shop.steps.scheduled:,} presses answered as refused)"
                )
    if len(servers) > 1:
        block += ["### uvicorn and Granian", "", *server_table(by, servers), ""]
    return block, targets


def server_table(by: dict[tuple[str, str], Shaped], servers: list[str]) -> list[str]:
    lines = [
        "| server | shop: highest rate p99 ≤ 250 ms | ceiling: highest rate | shop / ceiling "
        "| shop CPU ms per refused press | ceiling CPU ms per answer |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in servers:
        shop, ceiling = by[(kind, "shop")], by[(kind, "ceiling")]
        share = openloop.ratio(shop.highest, ceiling.highest)
        cpu = [f"{r.cost.ms_per_answer:.2f}" if r.cost else "—" for r in (shop, ceiling)]
        lines.append(
            f"| {kind} | {rate_text(shop.highest, shop.steps)} | {rate_text(ceiling.highest, ceiling.steps)} | "
            f"{'—' if share is None else f'{share:.0%}'} | {cpu[0]} | {cpu[1]} |"
        )
    best = faster(by, servers)
    lines += ["", f"Faster for the shop in this run: **{best}** (the higher sweep rate, then the lower CPU per press)."]
    return lines


def faster(by: dict[tuple[str, str], Shaped], servers: list[str]) -> str:
    def key(kind: str) -> tuple[float, float]:
        shop = by[(kind, "shop")]
        return (shop.highest or 0.0, -(shop.cost.ms_per_answer if shop.cost else 0.0))

    return max(servers, key=key)


def burst_block(rows: list[str], args: argparse.Namespace) -> list[str]:
    return [
        "### Burst (open loop)",
        "",
        f"{args.burst:,} members press Buy once each, the presses spread at random over the first "
        f"{args.spread:g} s of the sale, each sent on its schedule on its own keep-alive connection whatever the "
        f"earlier answers; a {args.units:,}-unit drop, limit 1. Fairness: the share of the units granted to the "
        f"{args.units:,} presses sent first (by send time). Out of send order within: the send times, "
        f"around the {args.units:,}th press, from the earliest of the first {args.units:,} refused to the latest "
        "after them granted.",
        "",
        "| target | presses | granted | last unit decided | p50 ms | p99 ms | max ms | 5xx | oversold "
        "| fairness | out of send order within ms | sender late p99 ms | sockets per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
    ]


def burst_targets(s: openloop.BurstSummary, oversold: int | None) -> list[str]:
    last = s.last_unit_s
    return [
        f"- burst, oversold 0: {oversold} — {verdict(oversold == 0)}",
        f"- burst, 0 HTTP 5xx: {s.fivexx} — {verdict(s.fivexx == 0)}",
        f"- burst, last unit decided ≤ 1.5 s after the opening: "
        f"{'—' if last is None else f'{last:.2f} s'} — {verdict(last is not None and last <= 1.5)}",
        f"- burst, fairness ≥ 90 %: {'—' if s.fairness is None else f'{s.fairness:.1%}'} — "
        f"{verdict(s.fairness is not None and s.fairness >= 0.9)}",
    ]


# ---------------------------------------------------------------- main


async def versions(pg_url: str, redis_url: str) -> str:
    from redis.asyncio import Redis

    conn = await asyncpg.connect(pg_url)
    pg = await conn.fetchval("SHOW server_version")
    await conn.close()
    redis = Redis.from_url(redis_url)
    info = await redis.info("server")
    await redis.aclose()
    return f"PostgreSQL {pg.split()[0]}, Redis {info['redis_version']}"


async def flush_redis(url: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()


def rates(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


SHAPES = ("closed", "burst", "sweep", "cost")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2_000, help="closed loop: concurrent clients")
    parser.add_argument("--presses", type=int, default=5, help="closed loop: Buy presses per client")
    parser.add_argument("--burst", type=int, default=10_000, help="burst: members pressing once each")
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--viewers", type=int, default=2_000, help="product-page viewers in the last closed run")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no db name")
    parser.add_argument("--database", default="smore_bench", help="dropped and created afresh")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="this Redis database is flushed")
    parser.add_argument("--write", type=Path, help="replace the drop section of this Markdown file")
    parser.add_argument("--profile", type=Path, help="py-spy each worker during the run; stacks to this folder")
    parser.add_argument("--timeline", action="store_true", help="answers per second of each run, to stderr")
    parser.add_argument("--metrics", choices=["on", "off"], default="on", help="off: the servers run with METRICS=0")
    parser.add_argument("--logs", choices=["on", "off"], default="on", help="off: the servers log warnings only")
    parser.add_argument("--only", choices=[t.product or "ceiling" for t in TARGETS], action="append", help="debugging")
    parser.add_argument(
        "--shape",
        choices=[*SHAPES, "all"],
        action="append",
        help="closed loop, burst, sweep, cost (repeatable; default: all four)",
    )
    parser.add_argument("--spread", type=float, default=1.0, help="burst: the presses arrive over this many seconds")
    parser.add_argument("--server", choices=SERVERS, default="uvicorn", help="the HTTP server of every run")
    parser.add_argument("--compare-servers", action="store_true", help="sweep and cost under uvicorn and Granian")
    parser.add_argument("--pool", type=int, default=2_000, help="sweep and cost: signed-in connections")
    parser.add_argument("--steps", type=rates, default=rates("250,500,1000,1500,2000,3000,4000,6000,8000"))
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between steps")
    parser.add_argument("--cost-rate", type=float, default=400.0)
    parser.add_argument("--cost-seconds", type=float, default=6.0)
    parser.add_argument("--patience", type=float, default=180.0, help="most seconds to wait for a quiet machine")
    args = parser.parse_args(argv)
    PATIENCE[0] = args.patience
    args.shapes = set(SHAPES) if not args.shape or "all" in args.shape else set(args.shape)
    command = " ".join([".venv/bin/python -m bench.drop", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    import uvloop

    servers = list(SERVERS) if args.compare_servers else [args.server]
    # a burst holds one connection per member (and the servers, which inherit the limit, as many)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if "burst" in args.shapes and hard < args.burst + 1000:
        sys.exit(f"the open files limit ({hard}) is too low for a burst of {args.burst:,}")
    log = PROJECT_ROOT / "var" / "bench-drop-server.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    blocks: list[list[str]] = []
    targets: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smore-bench-drop-") as tmp:
        env = fresh_shop(args, tmp)
        settings = Settings.from_env(env)
        members = max(args.clients if "closed" in args.shapes else 0, args.burst if "burst" in args.shapes else 0)
        members = max(members, args.pool if args.shapes & {"sweep", "cost"} else 0, args.viewers, 1)
        products, sessions = asyncio.run(seed(settings, members, args.units))
        print(f"seeded {len(sessions):,} signed-in members and products {products}", file=sys.stderr)

        if "closed" in args.shapes:
            results = closed(args, env, settings, products, sessions[: args.clients], log)
            if len(results) == len(TARGETS):
                block, more = closed_block(results, args)
                blocks.append(block)
                targets += more
            else:
                print("\n".join(row(r) for r in results))
        if "burst" in args.shapes:
            rows, summary, oversold = burst(args, env, settings, products, sessions[: args.burst], log)
            blocks.append(burst_block(rows, args))
            targets += burst_targets(summary, oversold)
        if args.shapes & {"sweep", "cost"}:
            runs = []
            for kind in servers:
                for target in (TARGETS[0], TARGETS[2], *((FLOOR,) if "cost" in args.shapes else ())):
                    quiet = wait_until_quiet()
                    print(f"{kind} {short(target)}: machine busy before {quiet:.2f}", file=sys.stderr)
                    with Server(target.factory, env, log, args.workers, kind) as server:
                        run = drive_open(server, kind, target, sessions[: args.pool], products, args)
                        shaped = uvloop.run(run)
                    if target.product and shaped.steps:
                        shaped.oversold = oversold_of(asyncio.run(check(settings, products[f"sweep-{kind}"])))
                    runs.append(shaped)
            block, more = open_blocks(runs, args)
            blocks.append(block)
            targets += more
        errors = [line for line in log.read_text().splitlines() if "Error" in line or "Traceback" in line]
        if errors:
            print(f"{len(errors)} error lines in {log}, first 5:\n" + "\n".join(errors[:5]), file=sys.stderr)
        info = asyncio.run(versions(env["DATABASE_URL"], args.redis))
    text = report_text(header(args, command, info), blocks, targets, log, errors)
    print(text)
    if args.write:
        write_section(args.write, "drop.py", "Drop", text)


def closed(args, env, settings, products, sessions, log) -> list[Result]:
    """The closed loop: each target in turn, each client pressing again once answered."""
    import uvloop

    results = []
    for target in TARGETS:
        if args.only and (target.product or "ceiling") not in args.only:
            continue
        product_id = products.get(target.product, products["shop"])
        quiet = wait_until_quiet()
        with Server(target.factory, env, log, args.workers, args.server) as server:
            viewers = args.viewers if target.product == "viewed" else 0
            pg = (args.postgres.rstrip("/") + "/postgres", args.database)
            run = drive(target, server, sessions, product_id, args.presses, args.profile, viewers, pg)
            result = uvloop.run(run)
            if args.metrics == "on" and target.factory == "tasks.web:create_app":
                print(
                    server_metrics.report(server_metrics.scrape(server.port, METRICS_TOKEN), result.outcomes),
                    file=sys.stderr,
                )
        if target.product:
            result.checks = asyncio.run(check(settings, product_id))
        workers = " + ".join(f"{c:.2f}" for c in result.per_worker)
        print(
            f"{target.label}: {result.rate:,.0f} attempts/s, worker CPU {workers}, machine busy before {quiet:.2f}",
            file=sys.stderr,
        )
        results.append(result)
        if args.timeline:
            print(timeline(result), file=sys.stderr)
    return results


def burst(args, env, settings, products, sessions, log) -> tuple[list[str], openloop.BurstSummary, int | None]:
    """The burst shape against the shop and the ceiling, one after the other, in this run."""
    import uvloop

    rows = []
    shop_summary, shop_oversold = openloop.BurstSummary(0), None
    for target in (TARGETS[0], TARGETS[2]):
        quiet = wait_until_quiet()
        with Server(target.factory, env, log, args.workers, args.server) as server:
            arrivals, split = uvloop.run(drive_burst(server, sessions, products["burst"], args.spread))
        units = args.units if target.product else None
        summary, oversold = openloop.burst_summary(arrivals, units), None
        if target.product:
            oversold = oversold_of(asyncio.run(check(settings, products["burst"])))
            shop_summary, shop_oversold = summary, oversold
        rows.append(burst_row(target.label, summary, oversold, split))
        print(f"{target.label}: burst done, machine busy before {quiet:.2f}", file=sys.stderr)
    return rows, shop_summary, shop_oversold


if __name__ == "__main__":
    main()
