"""A PostgreSQL shop upgraded to ``product_search`` searches the products it already had: the
migration writes their rows (the same rows the running code writes), not only the next edits."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import asyncpg
import pytest
from alembic import command
from alembic.config import Config

from app.db import Database
from app.search.backend import PostgresSearch
from app.search.query import parse_params
from app.search.rebuild import rebuild
from app.settings import PROJECT_ROOT, Settings, normalise_database_url
from tests.helpers.backends import TEST_DATABASE_URL, postgres_only

pytestmark = [postgres_only, pytest.mark.slow, pytest.mark.timeout(120)]

BEFORE = "b3d9f2a6c814"  # the revision before product_search
ROWS = (
    "SELECT product_id, category_id, list_price, created_at, sale_starts_at, status, words::text, grams::text, "
    "category, body FROM product_search ORDER BY product_id"
)


def _plain(url: str) -> str:
    return re.sub(r"^postgresql\+asyncpg", "postgresql", normalise_database_url(url))


def _migrate(url: str, revision: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = normalise_database_url(url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, revision)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_plain(TEST_DATABASE_URL or ""))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill_old_shop(url: str) -> None:
    """Products as a shop on the previous revision has them (plain SQL: that revision's columns)."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(
            "INSERT INTO members (id, email, display_name, password_hash, role, status, created_at) "
            "VALUES (1, 's@shop.test', '굿즈샵', 'x', 'seller', 'active', $1)",
            now,
        )
        await conn.execute(
            "INSERT INTO categories (id, parent_id, name, slug, position, created_at) VALUES "
            "(1, NULL, 'Figures', 'figures', 0, $1), (2, 1, 'Anime', 'anime', 0, $1)",
            now,
        )
        for pid, name, status, price in [
            (1, "한정판피규어세트", "on_sale", 120_000),
            (2, "Running figure", "scheduled", 30_000),
            (3, "Draft 피규어", "draft", 10_000),
        ]:
            await conn.execute(
                "INSERT INTO products (id, seller_id, category_id, name, description, list_price, total_quantity, "
                "fixed_quantity, taken_quantity, purchase_limit, sale_starts_at, status, popularity, updated_at, "
                "created_at) VALUES ($1, 1, 2, $2, 'Signed box', $3, 10, 10, 0, 1, $4, $5, 0, $4, $4)",
                pid,
                name,
                price,
                now,
                status,
            )
    finally:
        await conn.close()


async def _search_and_rows(url: str) -> tuple[dict[str, list[int]], list[tuple[object, ...]]]:
    database = Database(Settings.from_env().with_changes(database_url=normalise_database_url(url)))
    try:
        found: dict[str, list[int]] = {}
        async with database.transaction() as db:
            for q, sort in [
                ("피규어", "relevance"),
                ("정판", "relevance"),
                ("running", "relevance"),
                ("", "price_asc"),
            ]:
                page = await PostgresSearch().search(db, parse_params(q, sort=sort), 1, 20)
                found[f"{q}/{sort}"] = [hit.product.id for hit in page.items]
        conn = await asyncpg.connect(_plain(url))
        try:
            rows = [tuple(r) for r in await conn.fetch(ROWS)]
        finally:
            await conn.close()
        return found, rows
    finally:
        await database.dispose()


async def _rebuild(url: str) -> None:
    database = Database(Settings.from_env().with_changes(database_url=normalise_database_url(url)))
    try:
        await rebuild(database)
    finally:
        await database.dispose()


def test_the_upgrade_fills_product_search_for_the_products_already_there():
    base = normalise_database_url(TEST_DATABASE_URL or "")
    name = base.rsplit("/", 1)[1] + "_upgrade"
    url = base.rsplit("/", 1)[0] + "/" + name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        _migrate(url, BEFORE)
        asyncio.run(_fill_old_shop(url))
        _migrate(url, "head")
        found, migrated = asyncio.run(_search_and_rows(url))
        assert found == {
            "피규어/relevance": [1],
            "정판/relevance": [1],
            "running/relevance": [2],
            "/price_asc": [2, 1],  # the draft has a row but is never shown
        }
        assert [row[0] for row in migrated] == [1, 2, 3]
        asyncio.run(_rebuild(url))  # the running code's own rows are the same rows
        assert asyncio.run(_search_and_rows(url)) == (found, migrated)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
