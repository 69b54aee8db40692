"""The database and Redis the suite runs on (SQLite and no Redis unless TEST_DATABASE_URL /
TEST_REDIS_URL say otherwise), emptying them between tests, and a free local port."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar import Litestar
from sqlalchemy import text

from app.gateway.sandbox_store import SCHEMA as SANDBOX_SCHEMA
from app.models import Base

# Under ``pytest -n`` each worker process ("gw0", "gw1", …) has a database and a Redis database
# of its own: the configured PostgreSQL database's name with "_gw0" after it (created when
# missing), and the configured Redis database number minus the worker's number. Pub/sub channels
# are named after the Redis database (``app.live.hub.channel_prefix``), so workers never hear
# each other either.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def for_this_worker(database_url: str | None, redis_url: str | None) -> tuple[str | None, str | None]:
    if not XDIST_WORKER:
        return database_url, redis_url
    number = int(XDIST_WORKER.removeprefix("gw"))
    if database_url:
        parts = urlsplit(database_url)
        database_url = urlunsplit(parts._replace(path=f"{parts.path}_{XDIST_WORKER}"))
    if redis_url:
        parts = urlsplit(redis_url)
        first = int(parts.path.strip("/") or 0)
        if first - number < 0:
            raise pytest.UsageError(f"TEST_REDIS_URL's database {first} leaves no Redis database for {XDIST_WORKER}")
        redis_url = urlunsplit(parts._replace(path=f"/{first - number}"))
    return database_url, redis_url


TEST_DATABASE_URL, TEST_REDIS_URL = for_this_worker(
    os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
)


SANDBOX_TABLES = [f"{SANDBOX_SCHEMA}.payments", f"{SANDBOX_SCHEMA}.idempotent_replies"]
RESTART_SEQUENCES = """
SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND n.nspname = current_schema()
"""


async def _clean(app: Litestar) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with app.state.database.transaction() as db:
        if app.state.database.backend == "postgresql":
            # DELETE, children first, and every sequence back to 1: what TRUNCATE … RESTART
            # IDENTITY does, in about 10 ms instead of 200 (a test's few rows are cheaper to delete
            # than 33 tables' files to replace), twice per test
            for name in tables:
                await db.execute(text(f"DELETE FROM {name}"))
            await db.execute(text(RESTART_SEQUENCES))
            # The sandbox gateway's own schema in the same database, once its store has made it: the
            # shop's Idempotency-Keys name its rows' ids, which start again at 1 for every test.
            for name in SANDBOX_TABLES:
                if await db.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
                    await db.execute(text(f"DELETE FROM {name}"))
        else:
            # rows refer to each other (category trees); check the keys once everything is gone
            await db.execute(text("PRAGMA defer_foreign_keys = ON"))
            for name in tables:
                await db.execute(text(f"DELETE FROM {name}"))
    if TEST_REDIS_URL:
        from redis.asyncio import Redis

        redis = Redis.from_url(TEST_REDIS_URL)
        await redis.flushdb()
        await redis.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_and_redis() -> list[object]:
    """The parameters of a fixture made in memory and, with TEST_REDIS_URL, on Redis."""
    params: list[object] = [pytest.param("memory", id="memory")]
    params.append(
        pytest.param("redis", id="redis", marks=pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL unset"))
    )
    return params


# Whoosh is the search on SQLite only: tests of the index itself do not apply on PostgreSQL.
whoosh_only = pytest.mark.skipif(
    bool(TEST_DATABASE_URL), reason="the Whoosh index is SQLite's search; PostgreSQL searches product_search"
)
postgres_only = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL unset")
