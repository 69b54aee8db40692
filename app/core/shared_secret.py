"""One secret for every web host: on PostgreSQL without ``SECRET_KEY``, kept in the database.

A host's own generated file (``var/secret_key``, the SQLite default) would give each host its own
secret, and a form rendered by one host would fail its CSRF check on the next. So the first process
to start writes a generated secret into ``shared_secrets`` and every process, on every host, reads
that one back: ``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT``, each a statement of its own, so
processes starting at the same moment wait on the first insert's commit and all read its value.

It runs once, when the app is built (``create_app``), before anything is served; the table comes
from the migrations (``release`` in the Procfile). A database that cannot be reached, or that is
not migrated yet, stops the start with one line saying what to do.
"""

from __future__ import annotations

import asyncio
import secrets
import threading

from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from app.settings import Settings, SettingsError

SECRET_NAME = "secret_key"
_CLAIM = text("INSERT INTO shared_secrets (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING")
_READ = text("SELECT value FROM shared_secrets WHERE name = :name")


async def fetch_shared_secret(settings: Settings) -> str:
    """The shared secret of ``settings``' database, written first if no process has yet."""
    from app.db import make_engine  # app.db imports the settings this module is imported by

    engine = make_engine(settings.database_url, null_pool=True, pgbouncer=settings.database_pgbouncer)
    try:
        async with engine.connect() as conn:
            await conn.execute(_CLAIM, {"name": SECRET_NAME, "value": secrets.token_urlsafe(48)})
            await conn.commit()
            return str((await conn.execute(_READ, {"name": SECRET_NAME})).scalar_one())
    finally:
        await engine.dispose()


def shared_secret_key(settings: Settings) -> str:
    """``fetch_shared_secret`` from synchronous code (the app factory), on a thread and event loop
    of its own: a server may call the factory inside its running loop."""
    found: list[str] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            found.append(asyncio.run(asyncio.wait_for(fetch_shared_secret(settings), timeout=30)))
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="shared-secret")
    thread.start()
    thread.join()
    if failed:
        raise SettingsError(_explain(failed[0])) from failed[0]
    return found[0]


def _explain(exc: BaseException) -> str:
    if isinstance(exc, sa_exc.ProgrammingError) and "shared_secrets" in str(exc):
        return (
            "SECRET_KEY is unset and the database has no shared_secrets table yet: run the migrations "
            "(alembic upgrade head) before the web processes, or set SECRET_KEY (the same on every host)."
        )
    return (
        f"SECRET_KEY is unset and the shared secret could not be read from the database ({type(exc).__name__}): "
        "check DATABASE_URL, or set SECRET_KEY (the same on every host)."
    )


def with_shared_secret(settings: Settings) -> Settings:
    """``settings`` with a secret: SECRET_KEY, the SQLite default's file (both set already by
    ``Settings.from_env``), or the database's shared one."""
    if settings.secret_key:
        return settings
    if settings.is_sqlite:
        raise SettingsError("secret_key is empty: set SECRET_KEY")
    return settings.with_changes(secret_key=shared_secret_key(settings))
