"""The database and Redis the suite runs on (SQLite and no Redis unless TEST_DATABASE_URL /
TEST_REDIS_URL say otherwise), emptying them between tests, and a free local port."""

from __future__ import annotations

import os
import socket

import pytest
from litestar import Litestar
from sqlalchemy import text

from app.models import Base

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def _clean(app: Litestar) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with app.state.database.transaction() as db:
        if app.state.database.backend == "postgresql":
            await db.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
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
