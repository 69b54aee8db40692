"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL with TEST_DATABASE_URL),
Redis with TEST_REDIS_URL, an app per test and an HTTP client that speaks to it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.settings import PROJECT_ROOT, Settings, normalise_database_url
from tasks.web import create_app
from tests.helpers.backends import TEST_DATABASE_URL, TEST_REDIS_URL, _clean, _free_port
from tests.helpers.factories import MemberFactory, ProductFactory
from tests.helpers.servers import serve


def run_migrations(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        url = normalise_database_url(TEST_DATABASE_URL)
        import asyncio

        import asyncpg

        def plain_url(url: str) -> str:
            return re.sub(r"^postgresql\+asyncpg", "postgresql", normalise_database_url(url))

        async def reset() -> None:
            plain = plain_url(url)
            try:
                conn = await asyncpg.connect(plain)
            except asyncpg.InvalidCatalogNameError:  # a pytest -n worker's own database, made once
                configured = await asyncpg.connect(plain_url(os.environ["TEST_DATABASE_URL"]))
                try:
                    await configured.execute(f'CREATE DATABASE "{plain.rsplit("/", 1)[1]}"')
                finally:
                    await configured.close()
                conn = await asyncpg.connect(plain)
            try:
                # the sandbox gateway's own schema too: its store makes it again on first use
                await conn.execute(
                    "DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA IF EXISTS sandbox_gateway CASCADE;"
                )
            finally:
                await conn.close()

        asyncio.run(reset())
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite3'}"
    run_migrations(url)
    if not TEST_DATABASE_URL:
        with sqlite3.connect(_sqlite_path(url)) as conn:  # everything into the file itself, to copy it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


@pytest.fixture
def test_database_url(database_url: str, tmp_path: Path) -> str:
    """PostgreSQL: the one test database (cleaned before each test). SQLite: a copy of the migrated
    template for this test alone, so nothing a previous test's threads still do can lock it."""
    if TEST_DATABASE_URL:
        return database_url
    copy = tmp_path / "test.sqlite3"
    shutil.copyfile(_sqlite_path(database_url), copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
def settings(test_database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings, with the changes a test names through ``tests.helpers.config.with_settings``."""
    suite = Settings(
        database_url=test_database_url,
        secret_key="test-secret-key-" + "x" * 32,
        var_dir=tmp_path,
        redis_url=TEST_REDIS_URL,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        in_process_worker=True,
        page_size=5,
        database_null_pool=True,
    )
    return suite.with_changes(**getattr(request, "param", {}))


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    application = create_app(settings)
    await _clean(application)
    yield application


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        c.follow_redirects = False
        yield c
    if app.state.database.backend == "postgresql":
        # The shared database is left clean for the next test. A SQLite file belongs to this test
        # alone (and a worker thread of the stopped app may still hold its write lock a while).
        await _clean(app)


@pytest.fixture
def members(app: Litestar) -> MemberFactory:
    return MemberFactory(app)


@pytest.fixture
def products(app: Litestar) -> ProductFactory:
    return ProductFactory(app)


@pytest.fixture
def live_server(settings: Settings, app) -> Iterator[str]:  # `app` first: it cleans the database
    port = _free_port()
    # the port goes into the settings: the app sends shoppers to its own sandbox gateway there
    served = create_app(settings.with_changes(port=port))
    with serve(served, port, start_seconds=15) as base:
        yield base
