"""Auction benchmark: a crowd bids on one live auction, and thousands of viewers watch it over SSE.

    .venv/bin/python -m bench.auction                        # print the Markdown section
    .venv/bin/python -m bench.auction --write docs/BENCHMARKS.md
    make bench-auction

Like ``bench/drop.py`` (whose helpers it uses): a fresh database (``smore_bench_auction``, migrated),
a Redis database of its own (``/8``, flushed), N members signed in through the Redis session store,
and two auctions opened by ``app.auctions.service.open_for_product`` (10 units, start ₩10,000, steps
of ₩100, 600 minutes, so nothing extends). The server is ``uvicorn app.asgi:create_app --factory
--workers 2`` on PostgreSQL with ``REDIS_URL`` set, so the live state goes through Redis pub/sub to
both workers. Two runs, each against a fresh server:

1. **Bids.** N bidders (keep-alive connection, session and CSRF cookie each, taken before the clock
   starts) all start together and bid ``--bids`` times each as the page's htmx form does
   (``POST /auctions/{id}/bids``, ``amount`` and a fresh ``key``). Each amount is the next value of
   one shared counter (start price + increment × n), so a bid beats all bids sent before it.
   Afterwards the database is checked: one ``bids`` row per accepted answer (the very amounts),
   one standing bid per bidder matching their highest bid, ``bid_count`` = max sequence = rows.
2. **Fan-out.** ``--viewers`` anonymous SSE connections to ``GET /auctions/{id}/events``; once every
   one has its first ``state`` message, a few bidders bid one at a time at ``--rate`` bids/s for
   ``--seconds``. For each accepted bid and each viewer: the time from sending the bid until that
   viewer gets a ``state`` whose ``data-bids`` reaches the bid. The workers' RSS is read before
   the viewers connect and with them connected.

The load generator is this process (uvloop); its CPU use is reported. Server output goes to
``var/bench-auction-server.log``.
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
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from app.accounts.passwords import PasswordHasher
from app.auctions.service import open_for_product
from app.db import Database
from app.models.auctions import Auction, Bid, StandingBid
from app.models.base import utcnow
from app.models.catalog import Category, Product, ProductStatus
from app.models.members import Member, MemberRole
from app.settings import PROJECT_ROOT, Settings
from bench.drop import (
    BIN,
    CSRF_COOKIE,
    Client,
    CpuWatch,
    Server,
    cpu_model,
    flush_redis,
    percentile,
    prepare_database,
    versions,
    wait_until_quiet,
)

MARK_START, MARK_END = "<!-- bench/auction.py: start -->", "<!-- bench/auction.py: end -->"
UNITS, START_PRICE, INCREMENT, MINUTES = 10, 10_000, 100, 600
BIDS_ATTR = re.compile(rb'data-bids="(\d+)"')
ERROR = re.compile(rb'id="e-amount">([^<]*)<')


# ---------------------------------------------------------------- set-up


async def seed(settings: Settings, members: int) -> tuple[list[int], list[tuple[int, str]]]:
    """N bidders with one cheap argon2 hash and a session each in the app's Redis session store; a
    seller and two products live as auctions, each opened by the auction service."""
    from litestar.middleware.session.server_side import ServerSideSessionBackend
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash("bench-password")
    database = Database(settings)
    auctions = []
    async with database.transaction() as db:
        seller = Member(
            email="seller@bench.test", display_name="Bench seller", password_hash=password_hash, role=MemberRole.SELLER
        )
        category = Category(slug="bench", name="Bench")
        db.add_all([seller, category])
        await db.flush()
        rows = [
            {"email": f"bidder{i}@bench.test", "display_name": f"Bidder {i}", "password_hash": password_hash}
            for i in range(members)
        ]
        member_ids = list((await db.scalars(insert(Member).returning(Member.id), rows)).all())
        for kind in ("bids", "fan-out"):
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
            auctions.append(auction.id)
    await database.dispose()

    assert settings.redis_url
    redis = Redis.from_url(settings.redis_url)
    store = RedisStore(redis, namespace="smore").with_namespace("sessions")  # as app.asgi wires it
    sessions = []
    for member_id in member_ids:
        session_id = secrets.token_hex(32)
        await store.set(session_id, ServerSideSessionBackend.serialize_data({"member_id": member_id}), 3600)
        sessions.append((member_id, session_id))
    await redis.aclose()
    return auctions, sessions


async def check(settings: Settings, auction_id: int, accepted: set[int]) -> dict[str, int]:
    """Every acknowledged bid is stored (the very amounts), one standing bid per bidder at their
    highest bid, and the auction's count is the highest sequence."""
    database = Database(settings)
    async with database.transaction() as db:
        auction = await db.get(Auction, auction_id)
        assert auction is not None
        amounts = set((await db.scalars(select(Bid.amount).where(Bid.auction_id == auction_id))).all())
        rows, top_sequence = (
            await db.execute(select(func.count(), func.max(Bid.sequence)).where(Bid.auction_id == auction_id))
        ).one()
        highest = (
            select(Bid.member_id, func.max(Bid.amount).label("amount"))
            .where(Bid.auction_id == auction_id)
            .group_by(Bid.member_id)
            .subquery()
        )
        standing = StandingBid.auction_id == auction_id
        mismatched = await db.scalar(
            select(func.count())
            .select_from(StandingBid)
            .outerjoin(highest, highest.c.member_id == StandingBid.member_id)
            .where(standing, StandingBid.amount.is_distinct_from(highest.c.amount))
        )
        checks = {
            "accepted": len(accepted),
            "rows": int(rows),
            "missing": len(accepted - amounts),
            "unacknowledged": len(amounts - accepted),
            "bid_count": auction.bid_count,
            "max_sequence": int(top_sequence or 0),
            "bidders": int(
                await db.scalar(select(func.count(func.distinct(Bid.member_id))).where(Bid.auction_id == auction_id))
                or 0
            ),
            "standing": int(await db.scalar(select(func.count()).select_from(StandingBid).where(standing)) or 0),
            "standing_mismatched": int(mismatched or 0),
            "extensions": auction.extensions,
        }
    await database.dispose()
    return checks


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


# ---------------------------------------------------------------- load generator


class Bidder(Client):
    """A signed-in member with a keep-alive connection (the drop benchmark's client)."""

    async def take_csrf(self, path: str) -> None:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self._cookies()}\r\n\r\n"
        status, _, cookies = await self.roundtrip(head.encode())
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            if name.strip() == CSRF_COOKIE:
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


def classify(status: int, body: bytes) -> str:
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

    @property
    def attempts(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.outcomes.items() if not k.startswith(("accepted", "refused")))


def finish_cpu(watch: CpuWatch, seconds: float, client_before: float) -> dict[str, float]:
    cpu, _ = watch.finish(seconds)
    cpu["client"] = (time.process_time() - client_before) / seconds
    cpu["other"] = max(0.0, cpu.pop("machine") - sum(cpu.values()))
    return cpu


async def run_bids(server: Server, sessions: list[tuple[int, str]], auction_id: int, bids: int) -> BidRun:
    clients = await bidders(server, sessions, auction_id)
    run = BidRun(bidders=len(clients))
    counter = itertools.count(1)
    go = asyncio.Event()

    async def bidder(client: Bidder) -> None:
        await go.wait()
        for _ in range(bids):
            amount = START_PRICE + INCREMENT * next(counter)
            request = client.bid(auction_id, amount)
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(60):
                    status, body, _ = await client.roundtrip(request)
                outcome = classify(status, body)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                outcome = type(exc).__name__
                client.close()
            run.latencies.append((time.perf_counter() - t0) * 1000)
            run.outcomes[outcome] += 1
            if outcome == "accepted":
                run.accepted.add(amount)

    tasks = [asyncio.create_task(bidder(c)) for c in clients]
    await asyncio.sleep(0.5)
    watch = CpuWatch(server)
    watch.start()
    client_before = time.process_time()
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - started
    run.cpu = finish_cpu(watch, run.seconds, client_before)
    for client in clients:
        client.close()
    return run


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
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.tail + data
        if not self.status and buffer.startswith(b"HTTP/1.1 "):
            self.status = int(buffer[9:12])
            if self.status != 200 and not self.first.done():
                self.first.set_exception(RuntimeError(f"GET events answered {self.status}"))
        end = 0
        for match in BIDS_ATTR.finditer(buffer):
            count, end = int(match.group(1)), match.end()
            if self.count < 0:
                self.count = count
                self.first.set_result(now)
            elif count > self.count:
                for k in range(self.count + 1, count + 1):
                    self.arrivals[k] = now
                self.count = count
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
    delivered: dict[int, int] = field(default_factory=dict)  # bid count → viewers it reached
    lost: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.viewers


async def run_fanout(
    server: Server, sessions: list[tuple[int, str]], auction_id: int, viewers: int, rate: float, seconds: float
) -> FanOut:
    loop = asyncio.get_running_loop()
    clients = await bidders(server, sessions, auction_id)
    result = FanOut(viewers=viewers)
    await asyncio.sleep(2)
    result.rss_before = rss_kib(server.workers())
    gate = asyncio.Semaphore(200)
    request = f"GET /auctions/{auction_id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"

    async def connect() -> Viewer:
        async with gate:
            _, viewer = await loop.create_connection(Viewer, "127.0.0.1", server.port)
            assert viewer.transport is not None
            viewer.transport.write(request.encode())
            async with asyncio.timeout(60):
                await viewer.first
            return viewer

    t0 = time.perf_counter()
    watchers = await asyncio.gather(*(connect() for _ in range(viewers)))
    result.connect_seconds = time.perf_counter() - t0
    await asyncio.sleep(3)
    result.rss_after = rss_kib(server.workers())
    base = max(v.count for v in watchers)

    watch = CpuWatch(server)
    watch.start()
    client_before = time.process_time()
    started = time.perf_counter()
    accepted = 0
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        client = clients[i % len(clients)]
        t_sent = time.perf_counter()
        status, body, _ = await client.roundtrip(client.bid(auction_id, START_PRICE + INCREMENT * (base + i + 1)))
        result.answers.append((time.perf_counter() - t_sent) * 1000)
        outcome = classify(status, body)
        result.outcomes[outcome] += 1
        if outcome == "accepted":  # one at a time and no proxies: each accepted bid adds one
            accepted += 1
            result.sent[base + accepted] = t_sent
    last = base + accepted
    for _ in range(100):  # up to 10 s for the last state to reach everyone
        if all(v.count >= last for v in watchers):
            break
        await asyncio.sleep(0.1)
    result.seconds = time.perf_counter() - started
    result.cpu = finish_cpu(watch, result.seconds, client_before)
    for k, t_sent in result.sent.items():
        arrivals = [v.arrivals[k] for v in watchers if k in v.arrivals]
        result.delivered[k] = len(arrivals)
        result.delays.extend((t - t_sent) * 1000 for t in arrivals)
    result.lost = sum(v.lost for v in watchers)
    for viewer in watchers:
        assert viewer.transport is not None
        viewer.transport.close()
    for client in clients:
        client.close()
    await asyncio.sleep(1)
    return result


# ---------------------------------------------------------------- report


def cores(cpu: dict[str, float]) -> str:
    return " / ".join(f"{cpu.get(k, 0):.2f}" for k in ("server", "postgres", "redis", "client", "other"))


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def report(bids: BidRun, fan: FanOut, args: argparse.Namespace, command: str, info: str) -> str:
    accepted = bids.outcomes.get("accepted", 0)
    refused = sum(n for k, n in bids.outcomes.items() if k.startswith("refused"))
    rate = accepted / bids.seconds
    c = bids.checks
    stored = (
        c["rows"] == c["accepted"] and not c["missing"] and not c["unacknowledged"] and c["standing_mismatched"] == 0
    )
    stored &= c["bid_count"] == c["max_sequence"] == c["rows"] and c["standing"] == c["bidders"]
    p99 = percentile(fan.delays, 99) if fan.delays else float("inf")
    pairs = len(fan.sent) * fan.viewers
    reached = sorted(fan.delivered.values()) or [0]
    per_attempt = bids.cpu.get("server", 0) * bids.seconds / bids.attempts * 1000
    reasons = "; ".join(
        f"{k.removeprefix('refused: ')} {n:,}" for k, n in bids.outcomes.most_common() if k != "accepted"
    )
    fan_bids = sum(fan.outcomes.values())
    return "\n".join(
        [
            f"Machine: {cpu_model()}, {os.cpu_count()} cores (server, PostgreSQL, Redis and the load generator all "
            f"share them); Python {platform.python_version()}; {info}; load average {os.getloadavg()[0]:.2f} at "
            "the end.",
            f"Command: `{command}`",
            "",
            f"Server: `uvicorn app.asgi:create_app --factory --workers 2` (uvloop, httptools, no access log) on "
            "PostgreSQL, `REDIS_URL` set (sessions, and the live state fanned out to both workers by Redis pub/sub). "
            f"Each auction: {UNITS} units, start ₩{START_PRICE:,}, steps of ₩{INCREMENT}, {MINUTES} minutes "
            "(nothing extends). The load generator is raw asyncio HTTP/1.1 on uvloop in one process.",
            "",
            f"**Bids.** {bids.bidders:,} signed-in bidders (one keep-alive connection, session and CSRF cookie each, "
            f"taken before the clock starts), all released at once, each bidding {args.bids} times in a row "
            "(`POST /auctions/{id}/bids`, htmx headers, a fresh key), each amount the next value of one shared "
            "counter (start + step × n).",
            "",
            "| attempts | attempts/s | accepted | accepted/s | refused | errors | p50 ms | p99 ms | max ms "
            "| server CPU ms per attempt | CPU cores used: server / PostgreSQL / Redis / client / other |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {bids.attempts:,} | {bids.attempts / bids.seconds:,.0f} | {accepted:,} | **{rate:,.0f}** | "
            f"{refused:,} | {bids.errors} | {statistics.median(bids.latencies):.0f} | "
            f"{percentile(bids.latencies, 99):.0f} | {max(bids.latencies):.0f} | {per_attempt:.2f} | "
            f"{cores(bids.cpu)} |",
            "",
            f"Run time {bids.seconds:.1f} s. Not accepted: {reasons or 'none'}.",
            f"Database afterwards: {c['rows']:,} `bids` rows for {c['accepted']:,} accepted answers (acknowledged "
            f"amounts missing: {c['missing']}, stored but not acknowledged: {c['unacknowledged']}); `bid_count` "
            f"{c['bid_count']:,}, max sequence {c['max_sequence']:,}; {c['standing']:,} standing bids for "
            f"{c['bidders']:,} bidders, {c['standing_mismatched']} not at the bidder's highest bid; "
            f"extensions {c['extensions']}.",
            "",
            f"**Fan-out.** {fan.viewers:,} anonymous SSE connections (`GET /auctions/{{id}}/events`), all holding "
            f"their first `state` after {fan.connect_seconds:.1f} s; then {args.fanout_bidders} signed-in "
            f"bidders bid one at a time at {args.rate:g} bids/s for {args.seconds:g} s. Delay: from sending a bid "
            "to a viewer receiving a `state` whose `data-bids` includes it (the hub coalesces for 100 ms).",
            "",
            "| viewers | bids sent | accepted | bid answer p50 ms | delay p50 ms | delay p99 ms | delay max ms "
            "| deliveries | fewest viewers reached by a bid | lost connections "
            "| CPU cores used: server / PostgreSQL / Redis / client / other |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {fan.viewers:,} | {fan_bids} | {len(fan.sent)} | {statistics.median(fan.answers):.0f} | "
            f"{percentile(fan.delays, 50):.0f} | **{p99:.0f}** | {max(fan.delays):.0f} | "
            f"{len(fan.delays):,} of {pairs:,} | {reached[0]:,} | {fan.lost} | {cores(fan.cpu)} |",
            "",
            f"Memory: the two workers' RSS {fan.rss_before / 1024:.0f} MiB before the viewers connected, "
            f"{fan.rss_after / 1024:.0f} MiB with {fan.viewers:,} connected: **{fan.per_connection:.0f} KiB per "
            "SSE connection**.",
            "",
            "Targets:",
            f"- accepted bids/s ≥ 1,000 with {bids.bidders:,} bidders: {rate:,.0f} — {verdict(rate >= 1000)}",
            f"- fan-out p99 ≤ 500 ms at {fan.viewers:,} viewers: {p99:.0f} ms — {verdict(p99 <= 500)}",
            f"- every acknowledged bid stored, ranking consistent: {verdict(stored)}",
        ]
    )


def write_section(path: Path, body: str) -> None:
    section = f"{MARK_START}\n## Auction (`bench/auction.py`)\n\n{body}\n{MARK_END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        text = text[: text.index(MARK_START)] + section + text[text.index(MARK_END) + len(MARK_END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bidders", type=int, default=500)
    parser.add_argument("--bids", type=int, default=20, help="bids per bidder")
    parser.add_argument("--viewers", type=int, default=2_000, help="SSE connections")
    parser.add_argument("--rate", type=float, default=10.0, help="bids per second during the fan-out")
    parser.add_argument("--seconds", type=float, default=25.0, help="length of the fan-out run")
    parser.add_argument("--fanout-bidders", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no db name")
    parser.add_argument("--database", default="smore_bench_auction", help="dropped and created afresh")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8", help="this Redis database is flushed")
    parser.add_argument("--write", type=Path, help="replace the auction section of this Markdown file")
    args = parser.parse_args(argv)
    command = " ".join([".venv/bin/python -m bench.auction", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    import uvloop

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the servers inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.viewers + args.bidders + 1000:
        sys.exit(f"open files limit {hard} is too low for {args.viewers:,} viewers")

    with tempfile.TemporaryDirectory(prefix="smore-bench-auction-") as tmp:
        database_url = asyncio.run(prepare_database(args.postgres, args.database))
        asyncio.run(flush_redis(args.redis))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_", "REDIS_"))}
        env |= {
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis,
            "SMORE_VAR_DIR": tmp,
            "SECRET_KEY": secrets.token_urlsafe(48),  # every worker must sign CSRF tokens alike
            "AUCTION_EXTEND_SECONDS": "60",
        }
        subprocess.run([str(BIN / "alembic"), "upgrade", "head"], env=env, cwd=PROJECT_ROOT, check=True)
        settings = Settings.from_env(env)
        members = max(args.bidders, args.fanout_bidders)
        (bid_auction, fan_auction), sessions = asyncio.run(seed(settings, members))
        print(f"seeded {len(sessions):,} signed-in members, auctions {bid_auction} and {fan_auction}", file=sys.stderr)
        log = PROJECT_ROOT / "var" / "bench-auction-server.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")

        quiet = wait_until_quiet()
        with Server("app.asgi:create_app", env, log, args.workers) as server:
            bids = uvloop.run(run_bids(server, sessions[: args.bidders], bid_auction, args.bids))
        bids.checks = asyncio.run(check(settings, bid_auction, bids.accepted))
        print(
            f"bids: {bids.outcomes.get('accepted', 0) / bids.seconds:,.0f} accepted/s of "
            f"{bids.attempts / bids.seconds:,.0f} attempts/s; machine busy before {quiet:.2f}; {bids.checks}",
            file=sys.stderr,
        )

        quiet = wait_until_quiet()
        with Server("app.asgi:create_app", env, log, args.workers) as server:
            fan_sessions = sessions[: args.fanout_bidders]
            fan = uvloop.run(run_fanout(server, fan_sessions, fan_auction, args.viewers, args.rate, args.seconds))
        print(
            f"fan-out: p50 {percentile(fan.delays, 50):.0f} ms, p99 {percentile(fan.delays, 99):.0f} ms, "
            f"{fan.per_connection:.0f} KiB per connection; machine busy before {quiet:.2f}",
            file=sys.stderr,
        )
        errors = [line for line in log.read_text().splitlines() if "Error" in line or "Traceback" in line]
        if errors:
            print(f"{len(errors)} error lines in {log}, first 5:\n" + "\n".join(errors[:5]), file=sys.stderr)
        info = asyncio.run(versions(database_url, args.redis))
    body = report(bids, fan, args, command, info)
    print(body)
    if args.write:
        write_section(args.write, body)
        print(f"\nwritten to {args.write}")


if __name__ == "__main__":
    main()
