"""Auction benchmark: a crowd bids on live auctions, and thousands of viewers watch one over SSE.

    .venv/bin/python -m bench.auction [--write docs/BENCHMARKS.md]      # or: make bench-auction

Set up as ``bench/drop.py`` does (whose helpers it uses): a fresh database ``smore_bench_auction``,
Redis database ``/8`` flushed, N members signed in through the Redis session store, and one auction
per run opened by ``app.auctions.service.open_for_product`` (10 units, start ₩10,000, steps of ₩100,
600 minutes: nothing extends). Each run gets a fresh server with two workers (``--server uvicorn``
or ``granian``) on PostgreSQL with ``REDIS_URL`` set (live state to both workers by Redis pub/sub).
The shapes (``--shape``, repeatable; all by default):

- ``bids``: N bidders (keep-alive connection, session and CSRF cookie each) start together and bid
  ``--bids`` times each as the htmx form does, each amount the next value of one shared counter.
  Then the database is checked against the answers (``check``).
- ``burst`` (open loop, ``bench/openloop.py``): ``--burst`` bidders bid once each, spread over the
  first second, amounts rising in send order; the shop and the bare bid ceiling
  (``bench/auction_ceiling.py``).
- ``sweep``: constant bid rates rising in steps from a pool of signed-in bidders; shop and ceiling.
- ``cost``: ``--cost-rate`` bids/s on shop and ceiling, the workers' CPU per bid from ``/proc``.
- ``fanout``: ``--viewers`` (10,000) anonymous SSE connections, the open files limit raised to its
  hard limit first (the servers inherit it); once each holds its first ``state``, a few bidders bid
  one at a time at ``--rate`` (4) bids/s; for every (accepted bid, viewer), the time from sending
  the bid to the viewer's first ``state`` whose ``data-bids`` includes it. The workers' RSS is read
  before the viewers connect and with them connected.

``--profile DIR`` samples the workers with py-spy; server output goes to ``var/bench-auction-server.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import html
import itertools
import os
import platform
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

from app.accounts.passwords import PasswordHasher
from app.auctions.service import open_for_product
from app.db import Database
from app.models.auctions import Auction, Bid, StandingBid
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.settings import PROJECT_ROOT, Settings
from bench import drop, openloop
from bench.drop import BIN, Client, Server, percentile
from bench.report import write_section

UNITS, START_PRICE, INCREMENT, MINUTES = 10, 10_000, 100, 600
ID_BASE = 800_001
BIDS_ATTR = re.compile(rb'data-bids="(\d+)"')
ERROR = re.compile(rb'id="e-amount">([^<]*)<')


# ---------------------------------------------------------------- set-up and checks


# One auction per run on the shop (each counter of amounts starts afresh on its own auction).
AUCTIONS = ("bids", "fan-out", "burst", "sweep", "cost", "floor")


async def seed(settings: Settings, members: int) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """N bidders with one cheap argon2 hash and a session each in the app's Redis session store; a
    seller and two products live as auctions, each opened by the auction service."""

    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash("bench-password")
    database = Database(settings)
    auctions: dict[str, int] = {}
    async with database.transaction() as db:
        # Redis pub/sub channels ("auction:1", "member:1", …) ignore the Redis database number: ids far
        # from any a test run uses keep this benchmark's live updates and a concurrent test's apart.
        for table in ("members", "products", "auctions"):
            await db.execute(text(f"ALTER SEQUENCE {table}_id_seq RESTART WITH {ID_BASE}"))
        seller, category, member_ids = await drop.seller_and_members(db, password_hash, "Bidder", members)
        for kind in AUCTIONS:
            product = Product(
                seller_id=seller.id,
                category_id=category.id,
                name=f"Bench auction ({kind})",
                description="An auction for the benchmark.",
                list_price=START_PRICE,
                total_quantity=1 + UNITS,
                fixed_quantity=1,
                taken_quantity=1,
                sale_starts_at=utcnow() - timedelta(minutes=1),
                auction_start_price=START_PRICE,
                auction_increment=INCREMENT,
                auction_duration_minutes=MINUTES,
                status=ProductStatus.AUCTION_LIVE,
            )
            db.add(product)
            await db.flush()
            auction = await open_for_product(db, product.id)
            assert auction is not None
            auctions[kind] = auction.id
    await database.dispose()

    return auctions, await drop.signed_in(settings, member_ids)


async def check(settings: Settings, auction_id: int, accepted: set[int]) -> dict[str, int]:
    """Every acknowledged bid is stored (the very amounts) and nothing else; one standing bid per
    bidder, at their highest bid and its sequence; the auction's count is the highest sequence."""
    database = Database(settings)
    async with database.transaction() as db:
        auction = await db.get(Auction, auction_id)
        assert auction is not None
        bids, standing = [
            (await db.execute(select(t.member_id, t.amount, t.sequence).where(t.auction_id == auction_id))).all()
            for t in (Bid, StandingBid)
        ]
    await database.dispose()
    highest: dict[int, tuple[int, int]] = {}
    for member_id, amount, sequence in bids:
        highest[member_id] = max(highest.get(member_id, (0, 0)), (amount, sequence))
    amounts = {amount for _, amount, _ in bids}
    return {
        "accepted": len(accepted),
        "rows": len(bids),
        "missing": len(accepted - amounts),
        "unacknowledged": len(amounts - accepted),
        "bid_count": auction.bid_count,
        "max_sequence": max((s for _, _, s in bids), default=0),
        "bidders": len(highest),
        "standing": len(standing),
        "standing_wrong": sum(highest.get(m) != (a, s) for m, a, s in standing),
        "extensions": auction.extensions,
    }


def open_files_limit(pid: int) -> int:
    """A process's soft RLIMIT_NOFILE, as /proc shows it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


def rss_kib(pids: list[int]) -> int:
    lines = [line for pid in pids for line in Path(f"/proc/{pid}/status").read_text().splitlines()]
    return sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))


class Measure:
    """CPU per process group (and of this load generator) over a run; py-spy on each worker if asked."""

    def __init__(self, server: Server, profile: Path | None, run: str) -> None:
        self.profilers = []
        for pid in server.workers() if profile else []:
            assert profile is not None
            profile.mkdir(parents=True, exist_ok=True)
            command = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--format", "raw", "--rate", "250"]
            command += ["--nonblocking", "-o", str(profile / f"{run}-{pid}.txt")]
            self.profilers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.watch = drop.CpuWatch(server)
        self.watch.start()
        self.client = time.process_time()
        self.started = time.perf_counter()

    def stop(self) -> tuple[float, dict[str, float]]:
        seconds = time.perf_counter() - self.started
        cpu, _ = self.watch.finish(seconds)
        cpu["client"] = (time.process_time() - self.client) / seconds
        cpu["other"] = max(0.0, cpu.pop("machine") - sum(cpu.values()))
        for profiler in self.profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        return seconds, cpu


# ---------------------------------------------------------------- bids


class Bidder(Client):
    """A signed-in member with a keep-alive connection (the drop benchmark's client)."""

    async def take_csrf(self, path: str) -> None:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n\r\n"
        status, _, cookies = await self.roundtrip(head.encode())
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if name.strip() == drop.CSRF_COOKIE:
                self.csrf = value.strip()
        if status != 200 or not self.csrf:
            raise RuntimeError(f"GET {path} answered {status} without a CSRF cookie")

    def bid(self, auction_id: int, amount: int) -> bytes:
        body = f"amount={amount}&maximum=&key={uuid.uuid4().hex}&_csrf_token={self.csrf}"
        return (
            f"POST /auctions/{auction_id}/bids HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n"
            f"HX-Request: true\r\nHX-Target: bid-box\r\nX-CSRFToken: {self.csrf}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()

    async def place(self, auction_id: int, amount: int) -> str:
        try:
            async with asyncio.timeout(60):
                status, body, _ = await self.roundtrip(self.bid(auction_id, amount))
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            self.close()
            return type(exc).__name__
        return bid_outcome(status, body)


def bid_outcome(status: int, body: bytes) -> str:
    if status == 200:
        return "accepted"
    if status == 422 and (match := ERROR.search(body)):
        return "refused: " + re.sub(r"₩[\d,]+", "₩…", html.unescape(match.group(1).decode()))
    return f"HTTP {status}"


async def bidders(server: Server, sessions: list[tuple[int, str]], auction_id: int) -> list[Bidder]:
    clients = [Bidder(server.port, session_id) for _, session_id in sessions]
    gate = asyncio.Semaphore(100)

    async def warm(client: Bidder) -> None:
        async with gate:
            await client.take_csrf(f"/auctions/{auction_id}")

    await asyncio.gather(*(warm(c) for c in clients))
    return clients


@dataclass
class BidRun:
    bidders: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    accepted: set[int] = field(default_factory=set)
    cpu: dict[str, float] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)


async def run_bids(
    server: Server, sessions: list[tuple[int, str]], auction_id: int, args: argparse.Namespace
) -> BidRun:
    clients = await bidders(server, sessions, auction_id)
    run = BidRun(bidders=len(clients))
    counter = itertools.count(1)
    go = asyncio.Event()

    async def bidder(client: Bidder) -> None:
        await go.wait()
        for _ in range(args.bids):
            amount = START_PRICE + INCREMENT * next(counter)
            t0 = time.perf_counter()
            outcome = await client.place(auction_id, amount)
            run.latencies.append((time.perf_counter() - t0) * 1000)
            run.outcomes[outcome] += 1
            if outcome == "accepted":
                run.accepted.add(amount)

    tasks = [asyncio.create_task(bidder(c)) for c in clients]
    await asyncio.sleep(0.5)
    measure = Measure(server, args.profile, "bids")
    go.set()
    await asyncio.gather(*tasks)
    run.seconds, run.cpu = measure.stop()
    for client in clients:
        client.close()
    return run


# ---------------------------------------------------------------- fan-out


class Viewer(asyncio.Protocol):
    """One anonymous SSE connection: notes when each bid count first reaches it. Only the
    ``data-bids`` attribute of the state HTML is read (a short tail is kept for split packets)."""

    def __init__(self) -> None:
        self.status = 0
        self.count = -1  # the bid count of the latest state received
        self.arrivals: dict[int, float] = {}
        self.first = asyncio.get_running_loop().create_future()
        self.tail = b""
        self.lost = False

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.tail + data
        if not self.status and buffer.startswith(b"HTTP/1.1 "):
            self.status = int(buffer[9:12])
            if self.status != 200:
                self.first.set_exception(RuntimeError(f"GET events answered {self.status}"))
        end = 0
        for match in BIDS_ATTR.finditer(buffer):
            count, end = int(match.group(1)), match.end()
            if self.count < 0:
                self.first.set_result(now)
            else:
                self.arrivals.update((k, now) for k in range(self.count + 1, count + 1))
            self.count = max(self.count, count)
        self.tail = buffer[max(end, len(buffer) - 64) :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.first.done():
            self.first.set_exception(ConnectionError("closed before the first state"))


@dataclass
class FanOut:
    viewers: int = 0
    connect_seconds: float = 0.0
    rss_before: int = 0
    rss_after: int = 0
    sent: dict[int, float] = field(default_factory=dict)  # bid count → when its bid was sent
    answers: list[float] = field(default_factory=list)
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    delays: list[float] = field(default_factory=list)
    reached: dict[int, int] = field(default_factory=dict)  # bid count → viewers it reached
    lost: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    nofile: list[int] = field(default_factory=list)  # the workers' open files limits (soft)

    @property
    def everyone(self) -> bool:
        """Every viewer got every accepted bid's state, and none lost its connection."""
        return bool(self.sent) and all(n == self.viewers for n in self.reached.values()) and not self.lost

    @property
    def per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.viewers


async def run_fanout(
    server: Server, sessions: list[tuple[int, str]], auction_id: int, args: argparse.Namespace
) -> FanOut:
    loop = asyncio.get_running_loop()
    clients = await bidders(server, sessions, auction_id)
    result = FanOut(viewers=args.viewers, nofile=[open_files_limit(pid) for pid in server.workers()])
    await asyncio.sleep(2)
    result.rss_before = rss_kib(server.workers())
    gate = asyncio.Semaphore(200)
    request = f"GET /auctions/{auction_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"

    async def connect() -> tuple[asyncio.BaseTransport, Viewer]:
        async with gate:
            transport, viewer = await loop.create_connection(Viewer, "127.0.0.1", server.port)
            transport.write(request.encode())  # type: ignore[attr-defined]
            async with asyncio.timeout(60):
                await viewer.first
            return transport, viewer

    t0 = time.perf_counter()
    connections = await asyncio.gather(*(connect() for _ in range(args.viewers)))
    result.connect_seconds = time.perf_counter() - t0
    viewers = [viewer for _, viewer in connections]
    await asyncio.sleep(3)
    result.rss_after = rss_kib(server.workers())

    base = max(v.count for v in viewers)
    measure = Measure(server, args.profile, "fanout")
    for i in range(int(args.rate * args.seconds)):
        await asyncio.sleep(max(0.0, measure.started + i / args.rate - time.perf_counter()))
        client = clients[i % len(clients)]
        t_sent = time.perf_counter()
        outcome = await client.place(auction_id, START_PRICE + INCREMENT * (base + i + 1))
        result.answers.append((time.perf_counter() - t_sent) * 1000)
        result.outcomes[outcome] += 1
        if outcome == "accepted":  # one at a time and no proxies: each accepted bid adds one
            result.sent[base + len(result.sent) + 1] = t_sent
    for _ in range(100):  # up to 10 s for the last state to reach everyone
        if all(v.count >= base + len(result.sent) for v in viewers):
            break
        await asyncio.sleep(0.1)
    _, result.cpu = measure.stop()
    for k, t_sent in result.sent.items():
        arrivals = [v.arrivals[k] for v in viewers if k in v.arrivals]
        result.reached[k] = len(arrivals)
        result.delays.extend((t - t_sent) * 1000 for t in arrivals)
    result.lost = sum(v.lost for v in viewers)
    for transport, _ in connections:
        transport.close()
    for client in clients:
        client.close()
    await asyncio.sleep(1)
    return result


# ---------------------------------------------------------------- burst, sweep, cost


CEILING = "bench.auction_ceiling:create_app"
SHOP = "tasks.web:create_app"
# Cost only: the ceiling plus the round trips a stored bid cannot do without, on the bare drivers.
FLOOR = "bench.auction_floor:create_app"


def pooled_bid(auction_id: int, counter: itertools.count[int]) -> openloop.PooledSend[Bidder]:
    """One bid on a pooled connection, its amount the next of ``counter`` when it is sent (so
    amounts rise in send order); a connection the server closed is opened again first."""

    async def send(_: int, client: Bidder) -> tuple[int, str]:
        if client.reader is not None and client.reader.at_eof():
            client.close()
        amount = START_PRICE + INCREMENT * next(counter)
        try:
            status, body, _ = await client.roundtrip(client.bid(auction_id, amount))
        except BaseException:
            client.close()
            raise
        return status, bid_outcome(status, body)

    return send


@dataclass
class Burst:
    arrivals: list[openloop.Arrival]

    @property
    def summary(self) -> openloop.BurstSummary:
        return openloop.burst_summary(self.arrivals, None)

    @property
    def last_s(self) -> float:
        """From the opening until the last bid was answered."""
        return max((a.answered for a in self.arrivals if a.status), default=0.0)


async def run_burst(server: Server, sessions: list[tuple[int, str]], auction_id: int, spread: float) -> Burst:
    """Every bidder bids once, the bids spread over the first ``spread`` seconds, open loop."""
    clients = await bidders(server, sessions, auction_id)
    send = pooled_bid(auction_id, itertools.count(1))
    pool = openloop.Pool(clients)  # as many connections as bids: none is ever starved

    async def one(i: int) -> tuple[int, str]:
        client = pool.take()
        assert client is not None
        return await send(i, client)

    arrivals, _ = await openloop.fire(openloop.burst_schedule(len(clients), spread), one)
    for client in clients:
        client.close()
    return Burst(arrivals)


@dataclass
class Shaped:
    target: str  # "shop", "ceiling" or "floor"
    cost: drop.Cost | None = None
    steps: list[openloop.StepSummary] = field(default_factory=list)

    @property
    def highest(self) -> float | None:
        return openloop.highest_passing(self.steps)


async def run_open(server: Server, target: str, sessions, auctions: dict[str, int], args) -> Shaped:
    """Cost, then the sweep, from one pool of warmed bidders."""
    clients = await bidders(server, sessions, auctions["sweep"])
    shaped = Shaped(target)
    if "cost" in args.shapes:
        # the floor bids on an auction of its own: the shop's bids on the cost auction would make its
        # amounts, counted from the start again, all too low
        send = pooled_bid(auctions["floor" if target == "floor" else "cost"], itertools.count(1))
        pool = openloop.Pool(clients)
        await asyncio.sleep(0.5)
        schedule = openloop.rate_schedule(args.cost_rate, args.cost_seconds)
        workers = server.workers() if args.profile else []
        profilers = [drop.profile(pid, args.profile, f"{target}-cost") for pid in workers]
        arrivals, used, idle = await drop.measured(server, openloop.fire_pooled(schedule, pool, send))
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        step = openloop.step_summary(arrivals, args.cost_rate, args.cost_seconds)
        shaped.cost = drop.Cost(step, collections.Counter(a.outcome for a in arrivals), used, idle)
        drop.step_line(f"{target} cost", step)
        await asyncio.sleep(args.pause)
    if "sweep" in args.shapes and target != "floor":
        shaped.steps = await openloop.sweep(
            args.steps,
            args.step_seconds,
            openloop.Pool(clients),
            pooled_bid(auctions["sweep"], itertools.count(1)),
            pause=args.pause,
            on_step=lambda step: drop.step_line(f"{target} sweep", step),
        )
    for client in clients:
        client.close()
    return shaped


# ---------------------------------------------------------------- report


def cores(cpu: dict[str, float]) -> str:
    return " / ".join(f"{cpu.get(k, 0):.2f}" for k in ("server", "postgres", "redis", "client", "other"))


verdict = drop.verdict
# The bids' closed loop before issue 17, which its work must not make worse.
BASELINE = {"rate": 1_534, "accepted": 1_141, "cpu_ms": 0.89, "p99_ms": 561}


def header(args: argparse.Namespace, command: str, info: str) -> list[str]:
    return [
        f"Machine: {drop.cpu_model()}, {os.cpu_count()} cores (server, PostgreSQL, Redis and the load generator "
        f"all share them); Python {platform.python_version()}; {info}; load average {os.getloadavg()[0]:.2f} at "
        "the end.",
        f"Command: `{command}`",
        "",
        f"Server: {drop.server_line(args.server, args.workers).replace('<factory>', SHOP)} on PostgreSQL with "
        "`REDIS_URL` set (sessions; live state to both workers by Redis pub/sub); the ceiling is "
        f"`{CEILING}` under the same server. Each auction: {UNITS} units, start ₩{START_PRICE:,}, steps of "
        f"₩{INCREMENT}, {MINUTES} minutes (nothing extends). Load generator: raw asyncio HTTP/1.1 on uvloop, one "
        "process.",
    ]


def bids_block(bids: BidRun, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    attempts, accepted = len(bids.latencies), bids.outcomes["accepted"]
    refused = sum(n for k, n in bids.outcomes.items() if k.startswith("refused"))
    rate, c = accepted / bids.seconds, bids.checks
    stored = c["rows"] == c["accepted"] == c["bid_count"] == c["max_sequence"] and c["standing"] == c["bidders"]
    stored &= not (c["missing"] or c["unacknowledged"] or c["standing_wrong"])
    per_attempt = bids.cpu["server"] * bids.seconds / attempts * 1000
    p99 = percentile(bids.latencies, 99)
    reasons = "; ".join(
        f"{k.removeprefix('refused: ')} {n:,}" for k, n in bids.outcomes.most_common() if k != "accepted"
    )
    not_worse = (
        attempts / bids.seconds >= BASELINE["rate"] and per_attempt <= BASELINE["cpu_ms"] and p99 <= BASELINE["p99_ms"]
    )
    block = [
        "### Bids, closed loop",
        "",
        f"{bids.bidders:,} signed-in bidders (one keep-alive connection, session and CSRF cookie each, taken before "
        f"the clock starts), all released at once, each bidding {args.bids} times in a row "
        "(`POST /auctions/{id}/bids`, htmx headers, a fresh key); each amount is the next value of one shared "
        "counter (start + step × n), so a bid is refused only when at least 10 bids sent after it were decided "
        "before it.",
        "",
        "| attempts | attempts/s | accepted | accepted/s | refused | errors | p50 ms | p99 ms | max ms "
        "| server CPU ms per attempt | CPU cores used: server / PostgreSQL / Redis / client / other |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {attempts:,} | {attempts / bids.seconds:,.0f} | {accepted:,} | **{rate:,.0f}** | {refused:,} | "
        f"{attempts - accepted - refused} | {statistics.median(bids.latencies):.0f} | "
        f"{p99:.0f} | {max(bids.latencies):.0f} | {per_attempt:.2f} | {cores(bids.cpu)} |",
        "",
        f"Run time {bids.seconds:.1f} s. Not accepted: {reasons or 'none'}. Database afterwards: {c['rows']:,} "
        f"`bids` rows for {c['accepted']:,} accepted answers (acknowledged amounts missing {c['missing']}, stored "
        f"but never acknowledged {c['unacknowledged']}); `bid_count` {c['bid_count']:,} = max sequence "
        f"{c['max_sequence']:,}; {c['standing']:,} standing bids for {c['bidders']:,} bidders, "
        f"{c['standing_wrong']} not at the bidder's highest bid; extensions {c['extensions']}.",
    ]
    targets = [
        f"- bids, closed loop: every acknowledged bid stored, standing bids and count consistent: {verdict(stored)}",
        f"- bids, closed loop not worse than before (500 bidders × 20 bids: ≥ {BASELINE['rate']:,} attempts/s, "
        f"≤ {BASELINE['cpu_ms']} ms "
        f"server CPU per attempt, p99 ≤ {BASELINE['p99_ms']} ms): {attempts / bids.seconds:,.0f}/s "
        f"({rate:,.0f} accepted/s), {per_attempt:.2f} ms, {p99:,.0f} ms — {verdict(not_worse)}",
    ]
    return block, targets


def burst_block(bursts: dict[str, Burst], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    lines = [
        "### Bids, burst (open loop)",
        "",
        f"{args.burst:,} bidders bid once each, the bids spread at random over the first {args.spread:g} s, each "
        "sent on its schedule on its own keep-alive connection whatever the earlier answers; amounts rise in send "
        "order.",
        "",
        "| target | bids | accepted | refused | last bid decided | p50 ms | p99 ms | max ms | 5xx | no answer "
        "| sender late p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = []
    for target, burst in bursts.items():
        s = burst.summary
        refused = sum(n for k, n in s.outcomes.items() if k.startswith("refused"))
        unanswered = sum(1 for a in burst.arrivals if not a.status)
        lines.append(
            f"| {target} | {s.arrivals:,} | {s.outcomes['accepted']:,} | {refused:,} | {burst.last_s:.2f} s "
            f"| {s.p50_ms:,.0f} | {s.p99_ms:,.0f} | {s.max_ms:,.0f} | {s.fivexx} | {unanswered} "
            f"| {s.late_ms_p99:,.0f} |"
        )
        if target == "shop":
            targets.append(f"- bids, burst: 0 HTTP 5xx: {s.fivexx} — {verdict(s.fivexx == 0 and not unanswered)}")
    return lines, targets


def open_blocks(runs: list[Shaped], args: argparse.Namespace) -> tuple[list[str], list[str]]:
    by = {r.target: r for r in runs}
    block: list[str] = []
    targets: list[str] = []
    if "sweep" in args.shapes:
        rows = drop.sweep_table([drop.Shaped(args.server, t, steps=by[t.product or "ceiling"].steps) for t in TARGETS])
        share = openloop.ratio(by["shop"].highest, by["ceiling"].highest)
        block += [
            "### Bids, sweep (open loop, constant rates)",
            "",
            f"Constant bid rates rising in steps of {args.step_seconds:g} s "
            f"({', '.join(f'{r:,.0f}' for r in args.steps)} bids/s; {args.pause:g} s between steps), each bid on an "
            f"idle connection of a pool of {args.pool:,} signed-in bidders (none idle: *starved*, counted, not "
            "sent), amounts rising in send order. A target stops after its first step whose p99 is over 250 ms.",
            "",
            *rows,
            "",
            f"Highest rate with p99 ≤ 250 ms: the shop {drop.rate_text(by['shop'].highest, by['shop'].steps)}, the "
            f"ceiling {drop.rate_text(by['ceiling'].highest, by['ceiling'].steps)}"
            + (f": {share:.0%} of it." if share is not None else "."),
            "",
        ]
    if "cost" in args.shapes:
        shop, ceiling = by["shop"].cost, by["ceiling"].cost
        floor = by["floor"].cost if "floor" in by else None
        assert shop is not None and ceiling is not None
        times = shop.ms_per_answer / ceiling.ms_per_answer
        accepted = shop.outcomes["accepted"]
        block += [
            "### Bids, cost (server CPU per bid)",
            "",
            f"{args.cost_rate:,.0f} bids/s for {args.cost_seconds:g} s from the same pool; the workers' CPU "
            "(`/proc/<pid>/stat`) from the first send to the last answer, per answer, less what the same workers "
            "use idle over as long (measured for 2 s just before); with it, in brackets.",
            "",
            "| target | bids | answers | accepted | p50 ms | p99 ms | 5xx | server CPU ms per bid (with idle) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {t} | {c.steps.scheduled:,} | {c.steps.answered:,} | {c.outcomes['accepted']:,} "
                f"| {drop.fmt_ms(c.steps.p50_ms)} | {drop.fmt_ms(c.steps.p99_ms)} | {c.steps.fivexx} "
                f"| **{c.ms_per_answer:.2f}** ({c.gross_ms_per_answer:.2f}) |"
                for t, c in (("shop", shop), ("ceiling", ceiling), *((("floor", floor),) if floor else ()))
            ),
            "",
        ]
        if floor is not None:
            block += [
                f"Floor: the ceiling's endpoint plus only what a bid cannot do without when it is stored before "
                "it is acknowledged, on the bare drivers (`bench/auction_floor.py`: the session read, one "
                "transaction that locks the auction's row, reads the standing bids it is ranked against and "
                "stores the bid, its standing bid and the count in one statement) costs "
                f"**{floor.ms_per_answer:.2f} ms = {floor.ms_per_answer / ceiling.ms_per_answer:.1f}× the ceiling**; "
                f"the shop costs {shop.ms_per_answer / floor.ms_per_answer:.1f}× the floor.",
                "",
            ]
        targets.append(
            f"- bids, CPU per bid ≤ 2.5× the bare endpoint's: {shop.ms_per_answer:.2f} against "
            f"{ceiling.ms_per_answer:.2f} ms = {times:.1f}× — {verdict(times <= 2.5)} ({accepted:,} of "
            f"{shop.steps.scheduled:,} accepted)"
            + (
                f"; the floor {floor.ms_per_answer / ceiling.ms_per_answer:.1f}× "
                + ("(out of reach for a stored bid)" if floor.ms_per_answer > 2.5 * ceiling.ms_per_answer else "")
                if floor is not None
                else ""
            )
        )
    return block, targets


TARGETS = [drop.Target("shop", SHOP, "shop"), drop.Target("ceiling", CEILING, "")]


def fanout_block(fan: FanOut, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    p99 = percentile(fan.delays, 99) if fan.delays else float("inf")
    block = [
        "### Fan-out (SSE viewers)",
        "",
        f"{fan.viewers:,} anonymous SSE connections (`GET /auctions/{{id}}/events`) on one auction, all holding "
        f"their first `state` after {fan.connect_seconds:.1f} s (the workers' open files limit "
        f"{', '.join(f'{n:,}' for n in fan.nofile)}, raised by the benchmark to its hard limit); then "
        f"{args.fanout_bidders} signed-in bidders bid one at a time at {args.rate:g} bids/s for {args.seconds:g} s. "
        "Delay: from sending a bid until a viewer receives a `state` whose `data-bids` includes it (the hub "
        "coalesces for 100 ms).",
        "",
        "| viewers | bids sent | accepted | bid answer p50 ms | delay p50 ms | delay p99 ms | delay max ms "
        "| deliveries | fewest viewers reached by a bid | lost connections "
        "| CPU cores used: server / PostgreSQL / Redis / client / other |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {fan.viewers:,} | {sum(fan.outcomes.values())} | {len(fan.sent)} | "
        f"{statistics.median(fan.answers):.0f} | {percentile(fan.delays, 50):.0f} | **{p99:.0f}** | "
        f"{max(fan.delays, default=0):.0f} | {len(fan.delays):,} of "
        f"{len(fan.sent) * fan.viewers:,} | {min(fan.reached.values(), default=0):,} | {fan.lost} | "
        f"{cores(fan.cpu)} |",
        "",
        f"Memory: the two workers' RSS {fan.rss_before / 1024:.0f} MiB before the viewers connected, "
        f"{fan.rss_after / 1024:.0f} MiB with all {fan.viewers:,} connected: **{fan.per_connection:.1f} KiB per "
        "SSE connection**.",
    ]
    targets = [
        f"- fan-out p99 ≤ 500 ms at {fan.viewers:,} viewers: {p99:.0f} ms — {verdict(p99 <= 500)}",
        f"- fan-out ≤ 20 KiB per connection: {fan.per_connection:.1f} KiB — {verdict(fan.per_connection <= 20)}",
        f"- fan-out 0 lost connections: {fan.lost} — {verdict(fan.lost == 0)}",
        f"- fan-out, every viewer got every state: {len(fan.delays):,} of {len(fan.sent) * fan.viewers:,} "
        f"deliveries — {verdict(fan.everyone)}",
    ]
    return block, targets


# ---------------------------------------------------------------- main

SHAPES = ("bids", "burst", "sweep", "cost", "fanout")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bidders", type=int, default=500, help="bids closed loop: concurrent bidders")
    parser.add_argument("--bids", type=int, default=20, help="bids per bidder in the closed loop")
    parser.add_argument("--burst", type=int, default=2_000, help="burst: bidders bidding once each")
    parser.add_argument("--spread", type=float, default=1.0, help="burst: the bids arrive over this many seconds")
    parser.add_argument("--viewers", type=int, default=10_000, help="SSE connections")
    parser.add_argument("--rate", type=float, default=4.0, help="bids per second during the fan-out")
    parser.add_argument("--seconds", type=float, default=25.0, help="length of the fan-out run")
    parser.add_argument("--fanout-bidders", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=drop.SERVERS, default="uvicorn", help="the HTTP server of every run")
    parser.add_argument("--pool", type=int, default=1_000, help="sweep and cost: signed-in bidders")
    parser.add_argument("--steps", type=drop.rates, default=drop.rates("250,500,1000,1500,2000,3000,4000,6000,8000"))
    parser.add_argument("--step-seconds", type=float, default=4.0)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between steps")
    parser.add_argument("--cost-rate", type=float, default=400.0)
    parser.add_argument("--cost-seconds", type=float, default=6.0)
    parser.add_argument("--patience", type=float, default=180.0, help="most seconds to wait for a quiet machine")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no db name")
    parser.add_argument("--database", default="smore_bench_auction", help="dropped and created afresh")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8", help="this Redis database is flushed")
    parser.add_argument("--write", type=Path, help="replace the auction section of this Markdown file")
    parser.add_argument("--profile", type=Path, help="py-spy each worker during the runs; stacks to this folder")
    parser.add_argument(
        "--shape", choices=[*SHAPES, "all"], action="append", help="repeatable; default: all (closed-loop bids, …)"
    )
    parser.add_argument("--only", choices=["bids", "fanout"], help="one of the two closed runs (as --shape)")
    args = parser.parse_args(argv)
    if args.only:
        args.shape = [args.only]
    args.shapes = set(SHAPES) if not args.shape or "all" in args.shape else set(args.shape)
    drop.PATIENCE[0] = args.patience
    command = " ".join([".venv/bin/python -m bench.auction", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    import uvloop

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the servers inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if "fanout" in args.shapes and hard < args.viewers + args.fanout_bidders + 1000:
        sys.exit(f"the open files limit ({hard}) is too low for {args.viewers:,} viewers")

    blocks: list[list[str]] = []
    targets: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smore-bench-auction-") as tmp:
        env = drop.fresh_shop(args, tmp, AUCTION_EXTEND_SECONDS="60")
        settings = Settings.from_env(env)
        members = [args.fanout_bidders, args.bidders if "bids" in args.shapes else 0]
        members += [args.burst if "burst" in args.shapes else 0, args.pool if args.shapes & {"sweep", "cost"} else 0]
        auctions, sessions = asyncio.run(seed(settings, max(members)))
        # As `make run` does: two workers creating an empty search index at once can trip over each other.
        subprocess.run([str(BIN / "python"), "-m", "app.search.rebuild"], env=env, cwd=PROJECT_ROOT, check=True)
        print(f"seeded {len(sessions):,} signed-in members, auctions {auctions}", file=sys.stderr)
        log = PROJECT_ROOT / "var" / "bench-auction-server.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")

        def serve(factory: str) -> Server:
            quiet = drop.wait_until_quiet()
            print(f"{factory}: machine busy before {quiet:.2f}", file=sys.stderr)
            return Server(factory, env, log, args.workers, args.server)

        if "bids" in args.shapes:
            with serve(SHOP) as server:
                bids = uvloop.run(run_bids(server, sessions[: args.bidders], auctions["bids"], args))
            bids.checks = asyncio.run(check(settings, auctions["bids"], bids.accepted))
            print(f"bids: {dict(bids.outcomes)} in {bids.seconds:.1f} s, CPU {cores(bids.cpu)}", file=sys.stderr)
            block, more = bids_block(bids, args)
            blocks.append(block)
            targets += more
        if "burst" in args.shapes:
            bursts = {}
            for target in TARGETS:
                with serve(target.factory) as server:
                    run = run_burst(server, sessions[: args.burst], auctions["burst"], args.spread)
                    bursts[target.label] = uvloop.run(run)
                print(f"{target.label} burst: {dict(bursts[target.label].summary.outcomes)}", file=sys.stderr)
            block, more = burst_block(bursts, args)
            blocks.append(block)
            targets += more
        if args.shapes & {"sweep", "cost"}:
            runs = []
            floor = [drop.Target("floor", FLOOR, "")] if "cost" in args.shapes else []
            for target in [*TARGETS, *floor]:
                with serve(target.factory) as server:
                    runs.append(uvloop.run(run_open(server, target.label, sessions[: args.pool], auctions, args)))
            block, more = open_blocks(runs, args)
            blocks.append(block)
            targets += more
        if "fanout" in args.shapes:
            with serve(SHOP) as server:
                fan = uvloop.run(run_fanout(server, sessions[: args.fanout_bidders], auctions["fan-out"], args))
            print(f"fan-out: p99 {percentile(fan.delays, 99) if fan.delays else 0:.0f} ms", file=sys.stderr)
            block, more = fanout_block(fan, args)
            blocks.append(block)
            targets += more
        errors = [line for line in log.read_text().splitlines() if "Error" in line or "Traceback" in line]
        print(f"{len(errors)} error lines in {log}", *errors[:5], sep="\n", file=sys.stderr)
        info = asyncio.run(drop.versions(env["DATABASE_URL"], args.redis))
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
        info += f"; the app at commit `{git.stdout.strip()}`"
    text = drop.report_text(header(args, command, info), blocks, targets, log, errors)
    print(text)
    if args.write:
        write_section(args.write, "auction.py", "Auction", text)


if __name__ == "__main__":
    main()
