"""Behind PgBouncer in transaction mode (DATABASE_PGBOUNCER=1) the engine prepares nothing it
would reuse: asyncpg's and SQLAlchemy's statement caches are off and each statement has a name of
its own; the pool's size comes from the environment. Checked on the arguments each new connection
is opened with, caught before any network is touched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from app.db import Database, make_engine
from app.settings import Settings

PGBOUNCER = "postgresql+asyncpg://shop@pgbouncer.internal:6432/smore"


class Caught(Exception):
    pass


async def connect_args(engine: Any) -> dict[str, Any]:
    """The keyword arguments the driver's ``connect`` would get for a new connection."""
    seen: dict[str, Any] = {}

    @event.listens_for(engine.sync_engine, "do_connect")
    def catch(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)
        raise Caught

    with pytest.raises(Caught):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    await engine.dispose()
    return seen


@pytest.mark.parametrize("null_pool", [False, True], ids=["pooled", "null-pool"])
async def test_pgbouncer_turns_every_statement_cache_off(null_pool: bool) -> None:
    args = await connect_args(make_engine(PGBOUNCER, null_pool=null_pool, pgbouncer=True))
    assert args["statement_cache_size"] == 0 and args["prepared_statement_cache_size"] == 0
    names = {args["prepared_statement_name_func"]() for _ in range(100)}
    assert len(names) == 100 and all(name.startswith("__asyncpg_") for name in names)


async def test_without_pgbouncer_asyncpg_keeps_its_caches() -> None:
    args = await connect_args(make_engine(PGBOUNCER))
    assert not {"statement_cache_size", "prepared_statement_cache_size", "prepared_statement_name_func"} & set(args)


async def test_the_environment_sets_pgbouncer_and_the_pool(tmp_path: Any) -> None:
    env = {
        "SMORE_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "DATABASE_URL": "postgres://shop@pgbouncer.internal:6432/smore",
        "SANDBOX_GATEWAY": "1",
        "DATABASE_PGBOUNCER": "1",
        "DB_POOL_SIZE": "4",
        "DB_MAX_OVERFLOW": "2",
        "DB_POOL_TIMEOUT": "3.5",
    }
    settings = Settings.from_env(env)
    assert settings.database_pgbouncer and not Settings.from_env({**env, "DATABASE_PGBOUNCER": "0"}).database_pgbouncer
    database = Database(settings)
    pool: Any = database.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (4, 2, 3.5)
    args = await connect_args(database.engine)
    assert args["statement_cache_size"] == 0 and args["prepared_statement_cache_size"] == 0
