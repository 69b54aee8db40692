"""Where a web worker's time goes, by part of the request, from py-spy's raw stacks.

    .venv/bin/python -m bench.parts DIR/shop-*.txt       # files written by --profile DIR

Each sample goes to the first of the named parts (session read, key lookup, batches, the live
hub, rendering, form) found anywhere in its stack; a sample in none of them goes to the innermost
frame's layer (CSRF, metrics, logging, the handler, Litestar, the app's middleware, uvicorn, the
database or Redis client, the event loop). Prints a Markdown table of shares.
"""

from __future__ import annotations

import collections
import sys

MARKERS = [
    ("session read (Redis)", ("load_from_connection",)),
    ("key lookup (Redis)", ("DropService._lookup", "RedisGate.lookup")),
    ("batch settle (gate, telemetry)", ("DropService._settle",)),
    ("batch decisions (database)", ("Lanes._drain", "decide_batch")),
    ("live hub / notices", ("LiveHub.", "_notify_outbid")),
    ("answer rendering", ("Template.to_asgi_response", "Template.render", "to_response")),
    ("form parsing", ("read_form", "Request.form", "parse_url_encoded")),
    ("CSRF check", ("SessionCSRFMiddleware",)),
    ("metrics", ("Prometheus", "prometheus_client", "RequestMetrics", "count_press", "count_bid")),
    ("logging", ("RequestLog", "structlog", "logging/")),
    ("handler and service", ("DropController.", "AuctionController.", "DropService.", "BidService.", "purchases.py")),
    ("Litestar (routing, middleware, send)", ("litestar/",)),
    ("app middleware (guard, door, locale, line)", ("app/web/", "app/observability")),
    ("uvicorn (HTTP parsing, writes)", ("uvicorn/",)),
    ("batch decisions (database)", ("sqlalchemy", "asyncpg", "greenlet")),
    ("Redis client (other)", ("redis/",)),
    ("event loop", ("asyncio/", "Runner.run", "uvloop")),
]


SPECIFIC = 7  # the first parts are looked for anywhere in a stack, the rest at its innermost frame


def part_of(frames: list[str]) -> str:
    for name, marks in MARKERS[:SPECIFIC]:
        if any(mark in frame for frame in frames for mark in marks):
            return name
    for frame in reversed(frames):
        for name, marks in MARKERS[SPECIFIC:]:
            if any(mark in frame for mark in marks):
                return name
    return "other"


def shares(paths: list[str]) -> list[tuple[str, float]]:
    """Each part's share of the samples in these py-spy raw files, largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for path in paths:
        with open(path) as lines:
            for line in lines:
                stack, _, count = line.rstrip().rpartition(" ")
                if stack and count.isdigit():
                    counts[part_of(stack.split(";"))] += int(count)
    total = sum(counts.values()) or 1
    return [(name, count / total) for name, count in counts.most_common()]


def main(paths: list[str]) -> None:
    print("| part | share of samples |\n|---|---:|")
    for name, share in shares(paths):
        print(f"| {name} | {share:.1%} |")


if __name__ == "__main__":
    main(sys.argv[1:])
