"""Engine, sessions and the one-transaction-per-request rule.

A request gets at most one ``AsyncSession``, created on first use (``request_session``). The
``TransactionMiddleware`` commits it when the response starts with a 2xx or 3xx status (so
POST-redirect-GET writes land) and rolls it back on anything else. Services only flush.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar.connection import ASGIConnection
from litestar.plugins.htmx import HTMXRequest
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from app.events.outbox import WROTE_EVENTS
from app.settings import Settings

log = logging.getLogger(__name__)

SESSION_STATE_KEY = "smore_db_session"


class Database:
    """Owns the engine and the session factory of one app (or worker) instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = make_engine(settings.database_url, null_pool=settings.database_null_pool)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A short unit of work outside a request (tasks, seeding, streams): commit or roll back."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "does not answer"
            log.warning("database ping failed", exc_info=True)
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def make_engine(url: str, *, null_pool: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if null_pool:
        return create_async_engine(url, poolclass=NullPool)
    # No pre-ping: it costs a round trip on every checkout. Connections are recycled before servers
    # or proxies drop idle ones, and a connection found dead invalidates the whole pool at once, so a
    # database restart fails the requests already under way and no more.
    return create_async_engine(url, pool_size=30, max_overflow=20, pool_recycle=1800)


def request_session(connection: ASGIConnection) -> AsyncSession:
    """The request's session, created on first use and finished by ``TransactionMiddleware``."""
    state = connection.scope.setdefault("state", {})
    session = state.get(SESSION_STATE_KEY)
    if session is None:
        database: Database = connection.app.state.database
        session = database.sessionmaker()
        state[SESSION_STATE_KEY] = session
    return session


async def provide_db_session(request: HTMXRequest) -> AsyncSession:
    """Litestar dependency: ``db: NamedDependency[AsyncSession]`` in a handler signature."""
    return request_session(request)


def _wake_relay(scope: Scope) -> None:
    background = getattr(scope["app"].state, "background", None)
    if background is not None:
        background.wake()


_ERROR_BODY = b"<!doctype html><title>Error</title><h1>Something went wrong</h1><p>Nothing was saved.</p>"


class TransactionMiddleware:
    """Commit the request's session on 2xx/3xx, roll back otherwise, before the response leaves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        failed = False

        async def finish(status: int) -> bool:
            session: AsyncSession | None = scope.get("state", {}).pop(SESSION_STATE_KEY, None)
            if session is None:
                return True
            try:
                if 200 <= status < 400:
                    wrote_events = session.info.pop(WROTE_EVENTS, False)
                    await session.commit()
                    if wrote_events:
                        _wake_relay(scope)
                else:
                    await session.rollback()
                return True
            except Exception:
                log.exception("commit failed")
                await session.rollback()
                return False
            finally:
                await session.close()

        async def send_wrapper(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start":
                if not await finish(message["status"]):
                    failed = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 500,
                            "headers": [(b"content-type", b"text/html; charset=utf-8")],
                        }
                    )
                    await send({"type": "http.response.body", "body": _ERROR_BODY, "more_body": False})
                    return
            elif failed:
                return
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # A handler that never started a response (client gone, crash) leaves nothing behind.
            leftover: AsyncSession | None = scope.get("state", {}).pop(SESSION_STATE_KEY, None)
            if leftover is not None:
                await leftover.rollback()
                await leftover.close()
