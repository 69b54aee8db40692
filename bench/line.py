"""Waiting-room benchmark: a line of 10,000 members watches its places live while the shop lets it
in at a rate, and every member let in buys with their admission.

    .venv/bin/python -m bench.line [--write docs/BENCHMARKS.md]      # or: make bench-line

Set up as ``bench/drop.py`` does (whose helpers it uses): a fresh database ``smore_bench_line``,
Redis database ``/7`` flushed, ``--members`` members signed in through the Redis session store, and
one waiting room of ``--units`` units whose sale starts ``--lead`` seconds after the set-up, with
every member in its line, joined before the start (written straight into ``line_places``: joining
and its proof of work have their own tests). The server is ``uvicorn --workers 2`` on PostgreSQL
with ``REDIS_URL`` set; its own loop (``app/background.py``) lets the line in at ``--rate`` places a
minute from the start.

Each member holds the line page's live stream (``GET /products/{id}/line/events``, signed in) from
before the start, from a process of their own (as other people's phones would: the loop timing Buy
never waits behind their events). Once the places are written, the benchmark reads them from the database, and a
member whose place comes goes on as a shopper would: after a reaction time (uniform in
``--react``), it fetches its part of the line page (``/line/box``, as the open page's script does
when the member's turn comes: it carries the Buy form with the admission) and presses Buy with it,
on a connection of its own, open loop. Meanwhile ``--strays`` members a second who are
not let in press Buy without an admission (each must be told to join the line).

Reported: Buy's p50/p99/max and outcomes, the line page's p99, 5xx, the viewers connected, the
events they got and the connections lost, the purchase rights against the units (oversold), the
admissions used twice, and the CPU of the server, PostgreSQL, Redis and this load generator.
Target: Buy's p99 ≤ 250 ms with 10,000 members in the line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import random
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import func, insert, select

from app.accounts.passwords import PasswordHasher
from app.db import Database
from app.drops.stock import open_stock
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PurchaseRight
from app.models.lines import Admission, LinePlace
from app.settings import PROJECT_ROOT, Settings
from bench import drop
from bench.drop import BIN, CSRF_COOKIE, SESSION_COOKIE, Server, percentile
from bench.report import write_section

ADMISSION = re.compile(rb'name="admission" value="([^"]+)"')
KEY = re.compile(rb'name="key" value="([0-9a-f]{32})"')


# ---------------------------------------------------------------- set-up


async def seed(
    settings: Settings, members: int, units: int, rate: int, lead: float
) -> tuple[int, list[tuple[int, str]]]:
    """The members, the waiting room on sale from ``lead`` seconds on, and its line."""
    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash("bench-password")
    database = Database(settings)
    starts = utcnow() + timedelta(seconds=lead)
    async with database.transaction() as db:
        seller, category, member_ids = await drop.seller_and_members(db, password_hash, "Waiting", members)
        product = Product(
            seller_id=seller.id,
            category_id=category.id,
            name="Bench waiting room",
            description="A waiting room for the benchmark.",
            list_price=50_000,
            total_quantity=units,
            fixed_quantity=units,
            purchase_limit=1,
            sale_starts_at=starts,
            # On sale already (no task worker runs here to open it at its start); the line is let
            # in only from the start, and Buy needs an admission.
            status=ProductStatus.ON_SALE,
            sale_mode=SaleMode.WAITING_ROOM,
            admission_rate_per_minute=rate,
        )
        db.add(product)
        await db.flush()
        await open_stock(db, product)
        joined = starts - timedelta(minutes=5)
        rows = [{"product_id": product.id, "member_id": m, "joined_at": joined} for m in member_ids]
        await db.execute(insert(LinePlace), rows)
        product.line_seed = uuid.uuid4().hex + uuid.uuid4().hex
        product_id = product.id
    await database.dispose()
    return product_id, await drop.signed_in(settings, member_ids)


async def places(settings: Settings, product_id: int) -> dict[int, int]:
    """Member → place, once the places are written (the first moment anything needs the order)."""
    database = Database(settings)
    try:
        for _ in range(200):
            async with database.transaction() as db:
                query = select(LinePlace.member_id, LinePlace.place).where(
                    LinePlace.product_id == product_id, LinePlace.place.is_not(None)
                )
                found = {m: p for m, p in (await db.execute(query)).all()}
            if found:
                return found
            await asyncio.sleep(0.1)
        raise RuntimeError("the line's places were never written")
    finally:
        await database.dispose()


async def check(settings: Settings, product_id: int) -> dict[str, int]:
    database = Database(settings)
    async with database.transaction() as db:
        product = await db.get(Product, product_id)
        assert product is not None
        rights = await db.scalar(select(func.count()).where(PurchaseRight.product_id == product_id))
        admitted = await db.scalar(select(func.count()).where(Admission.product_id == product_id))
        used = await db.scalar(
            select(func.count()).where(Admission.product_id == product_id, Admission.used_at.is_not(None))
        )
        per_member = (
            select(PurchaseRight.member_id)
            .where(PurchaseRight.product_id == product_id)
            .group_by(PurchaseRight.member_id)
            .having(func.count() > 1)
        )
        twice = len((await db.execute(per_member)).all())
        without = await db.scalar(
            select(func.count())
            .select_from(PurchaseRight)
            .outerjoin(Admission, Admission.press_key == PurchaseRight.idempotency_key)
            .where(PurchaseRight.product_id == product_id, Admission.id.is_(None))
        )
    await database.dispose()
    return {
        "taken": product.taken_quantity,
        "units": product.fixed_quantity,
        "rights": int(rights or 0),
        "admissions": int(admitted or 0),
        "used": int(used or 0),
        "members with two rights": twice,
        "rights without an admission": int(without or 0),
    }


# ---------------------------------------------------------------- the crowd


class Watcher(asyncio.Protocol):
    """One member's live stream of the line page: counts its events."""

    def __init__(self) -> None:
        self.status = 0
        self.events = 0
        self.first = asyncio.get_running_loop().create_future()
        self.lost = False
        self.tail = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.tail + data
        if not self.status and buffer.startswith(b"HTTP/1.1 "):
            self.status = int(buffer[9:12])
            if self.status != 200 and not self.first.done():
                self.first.set_exception(RuntimeError(f"GET line events answered {self.status}"))
        found = buffer.count(b"\nevent:") + buffer.startswith(b"event:")
        if found:
            self.events += found
            if not self.first.done():
                self.first.set_result(time.perf_counter())
        self.tail = buffer[-8:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.first.done():
            self.first.set_exception(ConnectionError("closed before the first event"))


async def watch(
    port: int, sessions: list[tuple[int, str]], product_id: int
) -> list[tuple[asyncio.BaseTransport, Watcher]]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(200)

    async def one(session_id: str) -> tuple[asyncio.BaseTransport, Watcher]:
        request = (
            f"GET /products/{product_id}/line/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {SESSION_COOKIE}={session_id}\r\nAccept: text/event-stream\r\n\r\n"
        )
        async with gate:
            transport, watcher = await loop.create_connection(Watcher, "127.0.0.1", port)
            transport.write(request.encode())  # type: ignore[attr-defined]
            async with asyncio.timeout(60):
                await watcher.first
            return transport, watcher

    return await asyncio.gather(*(one(session_id) for _, session_id in sessions))


def watch_elsewhere(port: int, session_ids: list[str], product_id: int, pipe: Connection) -> None:
    """The watchers in a process of their own (they are other people's phones): the loop that
    times Buy and the box never waits behind 10,000 streams' events. Sends ``(connected, seconds)``
    once every stream has its first event, waits for any message, then sends ``(events, lost)``."""
    import uvloop

    async def run() -> None:
        t0 = time.perf_counter()
        sessions = [(0, session_id) for session_id in session_ids]
        streams = await watch(port, sessions, product_id)
        pipe.send((len(streams), time.perf_counter() - t0))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pipe.send(([w.events for _, w in streams], sum(w.lost for _, w in streams)))
        for transport, _ in streams:
            transport.close()

    uvloop.run(run())


@dataclass
class Shopper:
    """What one member let in did: its line page, then its Buy with the admission."""

    place: int
    due: float  # seconds after the start its place came
    page_ms: float = 0.0
    buy_ms: float = 0.0
    sent: float = 0.0  # when the Buy was sent (perf_counter)
    page_status: int = 0
    buy_status: int = 0
    outcome: str = ""


@dataclass
class Run:
    shoppers: list[Shopper] = field(default_factory=list)
    strays: collections.Counter[str] = field(default_factory=collections.Counter)
    stray_ms: list[float] = field(default_factory=list)
    watchers: int = 0
    connect_seconds: float = 0.0
    events: list[int] = field(default_factory=list)
    lost: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    start: float = 0.0  # the sale's start (perf_counter)


def outcome_of(status: int, body: bytes) -> str:
    if status == 200 and b"Yours!" in body:
        return "granted"
    if status == 200 and b"Sold out" in body:
        return "sold_out"
    if status == 409 and b"join the line" in body:
        return "join_line"
    if status == 409:
        return "refused_409"
    return f"http_{status}"


async def shop_once(port: int, session_id: str, product_id: int, shopper: Shopper) -> None:
    """What the open line page does at the member's turn (``static/js/line-live.js``): it fetches the
    member's own part (``/line/box``, which now holds the Buy form and its admission), then Buy
    with it; on a fresh connection."""
    client = drop.Client(port, session_id)
    try:
        t0 = time.perf_counter()
        head = (
            f"GET /products/{product_id}/line/box HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {client._cookies()}\r\n"
            "HX-Request: true\r\n\r\n"
        )
        status, body, cookies = await client.roundtrip(head.encode())
        shopper.page_ms, shopper.page_status = (time.perf_counter() - t0) * 1000, status
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if name.strip() == CSRF_COOKIE:
                client.csrf = value.strip()
        admission, key = ADMISSION.search(body), KEY.search(body)
        if status != 200 or admission is None or key is None:
            shopper.outcome = "no_admission_on_page" if status == 200 else f"page_{status}"
            return
        form = f"key={key.group(1).decode()}&admission={admission.group(1).decode()}&_csrf_token={client.csrf}"
        request = (
            f"POST /products/{product_id}/buy HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {client._cookies()}\r\n"
            f"HX-Request: true\r\nHX-Target: buy-box\r\nX-CSRFToken: {client.csrf}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n{form}"
        )
        t1 = shopper.sent = time.perf_counter()
        status, body, _ = await client.roundtrip(request.encode())
        shopper.buy_ms, shopper.buy_status = (time.perf_counter() - t1) * 1000, status
        shopper.outcome = outcome_of(status, body)
    except (OSError, asyncio.IncompleteReadError) as exc:
        shopper.outcome = type(exc).__name__
    finally:
        client.close()


async def stray(port: int, session_id: str, product_id: int, run: Run) -> None:
    """A member not let in presses Buy without an admission."""
    client = drop.Client(port, session_id)
    try:
        await client.take_csrf_cookie(product_id)
        t0 = time.perf_counter()
        status, body, _ = await client.roundtrip(client.press(product_id))
        run.stray_ms.append((time.perf_counter() - t0) * 1000)
        run.strays[outcome_of(status, body)] += 1
    except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
        run.strays[type(exc).__name__] += 1
    finally:
        client.close()


async def crowd(server: Server, settings: Settings, product_id: int, sessions, args, starts_in: float) -> Run:
    run = Run()
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    here, there = multiprocessing.get_context("spawn").Pipe()
    watchers = multiprocessing.get_context("spawn").Process(
        target=watch_elsewhere, args=(server.port, [sid for _, sid in sessions[: args.viewers]], product_id, there)
    )
    watchers.start()
    run.watchers, run.connect_seconds = await loop.run_in_executor(None, here.recv)
    print(f"{run.watchers:,} members watching the line after {run.connect_seconds:.1f} s", file=sys.stderr)
    start = t0 + starts_in
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    watch_cpu = drop.CpuWatch(server)
    watch_cpu.start()
    cpu_from = time.perf_counter()
    profilers = [drop.profile(pid, args.profile, "line") for pid in server.workers()] if args.profile else []
    by_member = dict(sessions)
    placed = await places(settings, product_id)
    order = sorted(placed.items(), key=lambda item: item[1])
    interval = 60 / args.rate
    rng = random.Random(7)
    let_in = order[: args.units]
    waiting = [m for m, _ in order[args.units :]]
    tasks = []
    for member_id, place in let_in:
        shopper = Shopper(place, (place - 1) * interval)
        run.shoppers.append(shopper)
        at = start + shopper.due + rng.uniform(*args.react)

        async def later(at: float = at, member_id: int = member_id, shopper: Shopper = shopper) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            await shop_once(server.port, by_member[member_id], product_id, shopper)

        tasks.append(asyncio.create_task(later()))
    last = start + len(let_in) * interval + args.react[1]
    if args.strays and waiting:
        n = int(args.strays * (last - start))
        for i in range(n):

            async def stray_later(
                at: float = start + i / args.strays, member_id: int = waiting[i % len(waiting)]
            ) -> None:
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                await stray(server.port, by_member[member_id], product_id, run)

            tasks.append(asyncio.create_task(stray_later()))
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - start
    run.start = start
    await asyncio.sleep(2)  # the last states reach the watchers
    run.cpu, _ = watch_cpu.finish(time.perf_counter() - cpu_from)
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)
    here.send("stop")
    run.events, run.lost = await loop.run_in_executor(None, here.recv)
    watchers.join(timeout=60)
    return run


# ---------------------------------------------------------------- report


def report(run: Run, checks: dict[str, int], args: argparse.Namespace, command: str, info: str) -> tuple[str, bool]:
    buys = [s.buy_ms for s in run.shoppers if s.buy_status]
    pages = [s.page_ms for s in run.shoppers if s.page_status]
    outcomes = collections.Counter(s.outcome for s in run.shoppers)
    fivexx = sum(s.buy_status >= 500 or s.page_status >= 500 for s in run.shoppers)
    fivexx += sum(n for k, n in run.strays.items() if k.startswith("http_5"))
    p99 = percentile(buys, 99) if buys else float("inf")
    oversold = max(0, checks["taken"] - checks["units"], checks["rights"] - checks["units"])
    met = p99 <= 250 and fivexx == 0 and oversold == 0 and checks["rights without an admission"] == 0
    lines = [
        f"Machine: {drop.cpu_model()}, 2 cores (server, PostgreSQL, Redis and the load generator all share "
        f"them); {info}.",
        f"Command: `{command}`",
        "",
        f"A waiting room of {args.units:,} units with {args.members:,} members in its line (joined before the "
        f"start, so in the seeded order); {run.watchers:,} of them hold the line page's live stream from before "
        f"the start (all connected after {run.connect_seconds:.1f} s). From the start the shop lets the line in at "
        f"{args.rate:,} places a minute; {args.react[0]:g}–{args.react[1]:g} s after its place comes, each member "
        "let in fetches its part of the line page (`/line/box`, as the open page does at its turn) and presses "
        "Buy with the admission it carries, on a connection of its own; "
        f"{args.strays:g} members a second who are not let in press Buy without one.",
        "",
        "| | count | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        f"| Buy with an admission | {len(buys):,} | {drop.fmt_ms(percentile(buys, 50)) if buys else '—'} "
        f"| **{drop.fmt_ms(p99) if buys else '—'}** | {drop.fmt_ms(max(buys)) if buys else '—'} |",
        f"| the member's part of the line page before it | {len(pages):,} "
        f"| {drop.fmt_ms(percentile(pages, 50)) if pages else '—'} "
        f"| {drop.fmt_ms(percentile(pages, 99)) if pages else '—'} | {drop.fmt_ms(max(pages)) if pages else '—'} |",
        f"| Buy without an admission | {len(run.stray_ms):,} | "
        f"{drop.fmt_ms(percentile(run.stray_ms, 50)) if run.stray_ms else '—'} | "
        f"{drop.fmt_ms(percentile(run.stray_ms, 99)) if run.stray_ms else '—'} | "
        f"{drop.fmt_ms(max(run.stray_ms)) if run.stray_ms else '—'} |",
        "",
        f"Answers: with an admission {dict(outcomes)}; without {dict(run.strays)}. HTTP 5xx: {fivexx}. "
        f"Run time {run.seconds:.1f} s from the start. Live streams: {run.watchers - run.lost:,} of {run.watchers:,} "
        f"still connected at the end, {run.lost} lost; events per member: min {min(run.events, default=0)}, "
        f"median {percentile([float(e) for e in run.events], 50) if run.events else 0:.0f}, "
        f"max {max(run.events, default=0)}. "
        f"CPU cores used: {' / '.join(f'{k} {v:.2f}' for k, v in run.cpu.items())}.",
        "",
        "Database afterwards: " + ", ".join(f"{k} {v:,}" for k, v in checks.items()) + f"; oversold {oversold}.",
        "",
        "### Targets",
        "",
        f"- waiting room, Buy's p99 ≤ 250 ms with {args.members:,} members in the line: {drop.fmt_ms(p99)} ms — "
        + drop.verdict(p99 <= 250),
        f"- waiting room, 0 HTTP 5xx, 0 oversold, no right without an admission: {fivexx}, {oversold}, "
        f"{checks['rights without an admission']} — "
        + drop.verdict(fivexx == 0 and oversold == 0 and checks["rights without an admission"] == 0),
    ]
    return "\n".join(lines) + "\n", met


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000, help="members in the line")
    parser.add_argument("--viewers", type=int, default=10_000, help="of them, holding the live stream")
    parser.add_argument("--units", type=int, default=1_000)
    parser.add_argument("--rate", type=int, default=3_000, help="places let in a minute (the shop's default)")
    parser.add_argument("--react", type=float, nargs=2, default=(0.2, 2.0), help="reaction time range, seconds")
    parser.add_argument("--strays", type=float, default=20.0, help="presses a second without an admission")
    parser.add_argument("--lead", type=float, default=60.0, help="seconds from the set-up to the start")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no db name")
    parser.add_argument("--database", default="smore_bench_line", help="dropped and created afresh")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="this Redis database is flushed")
    parser.add_argument("--patience", type=float, default=180.0, help="most seconds to wait for a quiet machine")
    parser.add_argument("--write", type=Path, help="replace the waiting room's section of this Markdown file")
    parser.add_argument("--profile", type=Path, help="py-spy each worker during the run; stacks to this folder")
    parser.add_argument("--dump", type=Path, help="write each Buy with an admission (sent, ms, outcome) as JSON lines")
    args = parser.parse_args(argv)
    drop.PATIENCE[0] = args.patience
    command = shlex.join([".venv/bin/python", "-m", "bench.line", *(argv if argv is not None else sys.argv[1:])])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the servers inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory(prefix="smore-bench-line-") as tmp:
        env = drop.fresh_shop(args, tmp)
        settings = Settings.from_env(env)
        subprocess.run([str(BIN / "python"), "-m", "app.search.rebuild"], env=env, cwd=PROJECT_ROOT, check=True)
        log = PROJECT_ROOT / "var" / "bench-line-server.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")
        quiet = drop.wait_until_quiet()
        print(f"machine busy before {quiet:.2f}", file=sys.stderr)
        product_id, sessions = asyncio.run(seed(settings, args.members, args.units, args.rate, args.lead))
        seeded = time.perf_counter()
        with Server("tasks.web:create_app", env, log, args.workers) as server:
            import uvloop

            starts_in = args.lead - (time.perf_counter() - seeded)
            run = uvloop.run(crowd(server, settings, product_id, sessions, args, starts_in))
        checks = asyncio.run(check(settings, product_id))
        errors = [line for line in log.read_text().splitlines() if "Error" in line or "Traceback" in line]
        print(f"{len(errors)} error lines in {log}", *errors[:5], sep="\n", file=sys.stderr)
        info = asyncio.run(drop.versions(env["DATABASE_URL"], args.redis))
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
        info += f"; the app at commit `{git.stdout.strip()}`"
    text, _met = report(run, checks, args, command, info)
    if args.dump:
        with args.dump.open("w") as out:
            for s in run.shoppers:
                row = {"place": s.place, "sent": s.sent - run.start, "page_ms": s.page_ms, "buy_ms": s.buy_ms}
                out.write(json.dumps({**row, "outcome": s.outcome}) + "\n")
    text += f"\nServer log (`var/bench-line-server.log`): {len(errors)} error lines.\n"
    print(text)
    if args.write:
        write_section(args.write, "line.py", "Waiting room", text)


if __name__ == "__main__":
    main()
