"""The PostgreSQL half of ``bench/search.py``: the same generated products and query mix, searched
through ``product_search`` (``app.search.pg_query.find``: the page's ids and the count, as the
Whoosh half times ``search`` before the page's rows are loaded).

The database at ``--postgres URL`` is emptied (its ``public`` schema dropped) and migrated.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from app.db import Database
from app.models.catalog import Category, Product
from app.models.members import Member, MemberRole
from app.search import pg_query
from app.search.query import parse_params
from app.settings import Settings, normalise_database_url
from bench.search import SELLERS, categories, percentile, product, query_mix

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    alembic = Path(sys.executable).parent / "alembic"
    subprocess.run([str(alembic), "upgrade", "head"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)


async def load(database: Database, count: int, seed: int) -> float:
    """Sellers, categories and ``count`` products through the ORM: each batch's commit writes the
    products' search rows, as a seller's product form does."""
    cats = categories()
    async with database.transaction() as db:
        for i, name in enumerate(SELLERS):
            db.add(
                Member(id=i + 1, email=f"s{i}@bench.test", display_name=name, password_hash="x", role=MemberRole.SELLER)
            )
        for c in sorted(cats.values(), key=lambda c: (c.parent_id is not None, c.id)):
            db.add(Category(id=c.id, parent_id=c.parent_id, name=c.name, slug=f"c{c.id}"))
    rng = random.Random(seed)
    leaf_ids = [c.id for c in cats.values() if c.parent_id is not None]
    started = time.perf_counter()
    for first in range(1, count + 1, BATCH):
        async with database.transaction() as db:
            for pid in range(first, min(count, first + BATCH - 1) + 1):
                p = product(rng, pid, leaf_ids)
                p.seller_id += 1
                p.total_quantity, p.fixed_quantity, p.purchase_limit = 10, 10, 1
                db.add(p)
    took = time.perf_counter() - started
    async with database.transaction() as db:
        await db.execute(text("ANALYZE"))
    return took


async def queries(database: Database, rounds: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed + 1)
    mix = query_mix(rng)
    timings: dict[str, list[float]] = {kind: [] for kind in mix}
    kinds = list(mix)
    async with database.transaction() as db:
        for params in mix.values():  # warm-up
            await pg_query.find(db, parse_params(**params[0]), 1, 20)
        for i in range(rounds):
            kind = kinds[i % len(kinds)]
            params = rng.choice(mix[kind])
            started = time.perf_counter()
            await pg_query.find(db, parse_params(**params), 1, 20)
            timings[kind].append((time.perf_counter() - started) * 1000)
    return timings


async def edits(database: Database, count: int, seed: int, writes: int = 100) -> list[float]:
    """A product's name changed and committed (its search row rewritten in the same commit)."""
    rng = random.Random(seed + 2)
    took: list[float] = []
    for i in range(writes):
        started = time.perf_counter()
        async with database.transaction() as db:
            p = await db.get(Product, rng.randint(1, count))
            assert p is not None
            p.name = f"{p.name[:100]} 수정 {i}"
        took.append((time.perf_counter() - started) * 1000)
    return took


async def run(url: str, count: int, rounds: int, seed: int) -> tuple[float, dict[str, list[float]], list[float]]:
    database_url = normalise_database_url(url)
    database = Database(Settings.from_env().with_changes(database_url=database_url))
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await asyncio.to_thread(migrate, url)
        load_seconds = await load(database, count, seed)
        timings = await queries(database, rounds, seed)
        writes = await edits(database, count, seed)
    finally:
        await database.dispose()
    return load_seconds, timings, writes


def side_by_side(whoosh: dict[str, list[float]], pg: dict[str, list[float]]) -> list[str]:
    rows = [
        "| query mix | Whoosh p50 ms | Whoosh p99 ms | PostgreSQL p50 ms | PostgreSQL p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in whoosh:
        w, p = whoosh[kind], pg[kind]
        rows.append(
            f"| {kind} | {statistics.median(w):.2f} | {percentile(w, 99):.2f} | "
            f"{statistics.median(p):.2f} | {percentile(p, 99):.2f} |"
        )
    w_all = [t for ts in whoosh.values() for t in ts]
    p_all = [t for ts in pg.values() for t in ts]
    rows.append(
        f"| **all** | {statistics.median(w_all):.2f} | **{percentile(w_all, 99):.2f}** | "
        f"{statistics.median(p_all):.2f} | **{percentile(p_all, 99):.2f}** |"
    )
    return rows


def report(
    count: int, load_seconds: float, whoosh: dict[str, list[float]], pg: dict[str, list[float]], writes: list[float]
) -> str:
    p99 = percentile([t for ts in pg.values() for t in ts], 99)
    verdict = "met" if p99 < 50 else f"NOT met (by {p99 - 50:.1f} ms)"
    return "\n".join(
        [
            "",
            "### Whoosh and PostgreSQL side by side",
            "",
            f"PostgreSQL: {count:,} products inserted through the ORM in batches of {BATCH} in {load_seconds:.1f} s "
            f"= **{count / load_seconds:,.0f} products/s**, each commit writing its products' `product_search` rows.",
            "",
            *side_by_side(whoosh, pg),
            "",
            f"PostgreSQL goal p99 < 50 ms: {verdict}. Each PostgreSQL query is `parse_params` + `pg_query.find` "
            "(the first page's 20 ids and the count, one session, as `/search` runs it before loading the rows).",
            "",
            f"A product edit committed with its search row (PostgreSQL, {len(writes)} edits): p50 "
            f"{statistics.median(writes):.1f} ms, p99 {percentile(writes, 99):.1f} ms; searchable at commit.",
        ]
    )
