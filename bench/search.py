"""Search benchmark: index N generated products (mixed Korean/English) into a temporary Whoosh index,
then time a mix of queries through the same code the web page uses (``parse_params`` + ``search``).

    .venv/bin/python -m bench.search                       # print the Markdown table
    .venv/bin/python -m bench.search --write docs/BENCHMARKS.md
    .venv/bin/python -m bench.search --postgres postgresql://…/smore_bench_search --write docs/BENCHMARKS.md

No database: documents are built with ``app.search.documents.to_document`` from unsaved products.
Goal: query p99 under 50 ms on 20,000 products.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.catalog.lifecycle import PUBLIC_STATUSES
from app.models.catalog import Product
from app.search.documents import CategoryInfo, to_document
from app.search.index import SearchIndex
from app.search.query import parse_params
from app.search.service import search
from bench.report import write_section

KO_PARTS = [
    "한정판",
    "피규어",
    "세트",
    "레코드",
    "운동화",
    "포스터",
    "고양이",
    "초판",
    "굿즈",
    "아크릴",
    "스탠드",
    "키링",
]
KO_PARTS += ["특별판", "콜라보", "인형", "머그컵", "티셔츠", "앨범", "사인", "복각판", "미니어처", "카드"]
EN_WORDS = ["limited", "figure", "figurines", "vinyl", "record", "running", "sneakers", "poster", "signed", "edition"]
EN_WORDS += ["collector", "box", "set", "anime", "jazz", "print", "ceramic", "mug", "plush", "art", "book", "deluxe"]
TOP = ["Figures", "Music", "Shoes", "Art prints", "Toys", "Books", "Fashion", "Home"]
SUB = ["Anime", "Classic", "Rare", "New", "Vintage"]
SELLERS = ["Hanbit Figures", "Seoul Vinyl", "스니커즈 하우스", "Busan Prints", "굿즈샵", "Retro Toys"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def categories() -> dict[int, CategoryInfo]:
    cats: dict[int, CategoryInfo] = {}
    for i, top in enumerate(TOP, start=1):
        cats[i] = CategoryInfo(i, None, top)
        for j, sub in enumerate(SUB):
            cid = 100 + i * 10 + j
            cats[cid] = CategoryInfo(cid, i, f"{sub} {top.lower()}")
    return cats


def product(rng: random.Random, pid: int, leaf_ids: list[int]) -> Product:
    ko = "".join(rng.sample(KO_PARTS, rng.randint(1, 3)))
    en = " ".join(rng.sample(EN_WORDS, rng.randint(1, 3)))
    name = rng.choice([f"{ko} {en}", f"{en.title()} {ko}", ko, en.title()])
    description = " ".join(rng.choices(EN_WORDS + KO_PARTS, k=rng.randint(8, 30)))
    return Product(
        id=pid,
        seller_id=pid % len(SELLERS),
        category_id=rng.choice(leaf_ids),
        name=name[:120],
        description=description,
        list_price=rng.randrange(5_000, 2_000_000, 500),
        status=rng.choice(sorted(PUBLIC_STATUSES)),
        sale_starts_at=T0 + timedelta(minutes=rng.randint(-50_000, 50_000)),
        popularity=rng.randint(0, 1000),
        created_at=T0 + timedelta(seconds=pid),
        updated_at=T0 + timedelta(seconds=pid),
    )


def build(index: SearchIndex, count: int, seed: int) -> float:
    rng = random.Random(seed)
    cats = categories()
    leaf_ids = [c.id for c in cats.values() if c.parent_id is not None]
    started = time.perf_counter()
    w = index.ix.writer(limitmb=256)
    for pid in range(1, count + 1):
        p = product(rng, pid, leaf_ids)
        doc = to_document(p, cats, SELLERS[p.seller_id])
        assert doc is not None
        w.add_document(**doc)
    w.commit()
    return time.perf_counter() - started


def query_mix(rng: random.Random) -> dict[str, list[dict[str, str]]]:
    cat_ids = list(categories())

    def filtered() -> dict[str, str]:
        high = rng.randrange(300_000, 1_500_000, 100_000)
        q = rng.choice(["", rng.choice(EN_WORDS)])
        return {"q": q, "category": str(rng.choice(cat_ids)), "min_price": "100000", "max_price": str(high)}

    def by_price() -> dict[str, str]:
        q = rng.choice(["", rng.choice(EN_WORDS), rng.choice(KO_PARTS)])
        return {"q": q, "sort": rng.choice(["price_asc", "price_desc"])}

    return {
        "English word": [{"q": rng.choice(EN_WORDS)} for _ in range(50)],
        "English stem variant": [{"q": w} for w in ("runs", "figures", "records", "editions", "signing", "prints")],
        "Korean substring": [{"q": rng.choice(KO_PARTS)[: rng.randint(2, 3)]} for _ in range(50)],
        "Two words (ko + en)": [{"q": f"{rng.choice(KO_PARTS)} {rng.choice(EN_WORDS)}"} for _ in range(50)],
        "Category + price filter": [filtered() for _ in range(50)],
        "Sort by price": [by_price() for _ in range(50)],
    }


def incremental(index: SearchIndex, count: int, seed: int, writes: int = 100) -> tuple[list[float], list[float]]:
    """Event-style writes (one document, one commit each), each followed by a filtered query that
    has to reopen the searcher and re-read the price column."""
    rng = random.Random(seed + 2)
    cats = categories()
    leaf_ids = [c.id for c in cats.values() if c.parent_id is not None]
    upserts: list[float] = []
    first_queries: list[float] = []
    params = {"q": "figure", "category": "1", "min_price": "100000", "max_price": "900000"}
    for _ in range(writes):
        p = product(rng, rng.randint(1, count), leaf_ids)
        doc = to_document(p, cats, SELLERS[p.seller_id])
        assert doc is not None
        started = time.perf_counter()
        index.upsert(doc)
        upserts.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        search(index, parse_params(**params), 1, 20)
        first_queries.append((time.perf_counter() - started) * 1000)
    return upserts, first_queries


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def run_queries(index: SearchIndex, rounds: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed + 1)
    mix = query_mix(rng)
    timings: dict[str, list[float]] = {kind: [] for kind in mix}
    for params in mix.values():  # warm-up: open the searcher, load the sort columns
        search(index, parse_params(**params[0]), 1, 20)
    kinds = list(mix)
    for i in range(rounds):
        kind = kinds[i % len(kinds)]
        params = rng.choice(mix[kind])
        started = time.perf_counter()
        search(index, parse_params(**params), 1, 20)
        timings[kind].append((time.perf_counter() - started) * 1000)
    return timings


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else platform.machine()


def report(
    count: int,
    index_seconds: float,
    size_mb: float,
    timings: dict[str, list[float]],
    writes: tuple[list[float], list[float]],
    command: str,
) -> str:
    every = [t for ts in timings.values() for t in ts]
    upserts, after_write = writes
    rows = [
        f"| {kind} | {len(ts)} | {statistics.median(ts):.2f} | {percentile(ts, 99):.2f} | {max(ts):.2f} |"
        for kind, ts in timings.items()
    ]
    p99 = percentile(every, 99)
    return "\n".join(
        [
            f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, whoosh-reloaded; "
            f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine widens the tail).",
            f"Command: `{command}`",
            "",
            f"Indexing: {count:,} products in {index_seconds:.1f} s = **{count / index_seconds:,.0f} documents/s** "
            f"(one writer, one commit); index size {size_mb:.1f} MB.",
            "",
            "| query mix | queries | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            f"| **all** | {len(every)} | {statistics.median(every):.2f} | **{p99:.2f}** | {max(every):.2f} |",
            "",
            f"Goal p99 < 50 ms: {'met' if p99 < 50 else 'NOT met'}. Each query is `parse_params` + `search` "
            "(first page of 20, stored fields) on the cached searcher, as `/search` runs it before loading the "
            "page's rows from the database.",
            "",
            f"Incremental (as the event handler writes): {len(upserts)} single-document commits, "
            f"p50 {statistics.median(upserts):.1f} ms, p99 {percentile(upserts, 99):.1f} ms; the first filtered "
            f"query after each write (reopens the searcher, re-reads the price column) p50 "
            f"{statistics.median(after_write):.1f} ms, p99 {percentile(after_write, 99):.1f} ms.",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", type=Path, help="replace the search section of this Markdown file")
    parser.add_argument("--postgres", metavar="URL", help="also measure PostgreSQL's search in this (emptied) database")
    args = parser.parse_args(argv)
    command = " ".join([".venv/bin/python -m bench.search", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    with tempfile.TemporaryDirectory(prefix="smore-bench-search-") as tmp:
        index = SearchIndex(Path(tmp) / "index")
        index_seconds = build(index, args.products, args.seed)
        size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 1e6
        timings = run_queries(index, args.queries, args.seed)
        writes = incremental(index, args.products, args.seed)
        index.close()
    body = report(args.products, index_seconds, size_mb, timings, writes, command)
    if args.postgres:
        import asyncio

        from bench import search_pg

        load_seconds, pg_timings, pg_writes = asyncio.run(
            search_pg.run(args.postgres, args.products, args.queries, args.seed)
        )
        body += "\n" + search_pg.report(args.products, load_seconds, timings, pg_timings, pg_writes)
    print(body)
    if args.write:
        write_section(args.write, "search.py", "Search", body)


if __name__ == "__main__":
    main()
