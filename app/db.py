"""Engine, sessions and the one-transaction-per-request rule.

A request gets at most one ``AsyncSession``, created on first use (``request_session``). The
``TransactionMiddleware`` commits it when the response starts with a 2xx or 3xx status (so
POST-redirect-GET writes land) and rolls it back on anything else. Services only flush.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import uuid4

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.plugins.htmx import HTMXRequest
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import ColumnElement, any_, bindparam, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import QueryableAttribute, Session, SessionTransaction
from sqlalchemy.pool import NullPool

from app.events.outbox import WROTE_EVENTS
from app.observability.metrics import watch_pool
from app.observability.tracing import instrument_engine, tracer_for
from app.settings import Settings

if TYPE_CHECKING:
    from app.core.scheduling import Scheduler

log = logging.getLogger(__name__)

SESSION_STATE_KEY = "smore_db_session"
# Effects a unit of work runs once after its commit succeeds (never after a rollback).
AFTER_COMMIT = "smore_after_commit"
# What to undo outside the database if the unit of work rolls back instead.
AFTER_ROLLBACK = "smore_after_rollback"
T = TypeVar("T")


def after_commit(db: AsyncSession, effect: Callable[[], Awaitable[None]]) -> None:
    """Run ``effect`` once this session's transaction has committed (give a unit back to the gate,
    touch a live page, schedule a job), in the order registered; a rollback drops it. The unit of
    work commits through ``commit`` (the request edge, ``Database.transaction()``, the event
    dispatcher). An effect that fails is logged: what it does must be repairable by a periodic job."""
    db.info.setdefault(AFTER_COMMIT, []).append(effect)


def after_rollback(db: AsyncSession, undo: Callable[[], None]) -> None:
    """Run ``undo`` if this session's transaction rolls back instead of committing (remove a file
    written for a row that will not exist, say); a commit drops it."""
    db.info.setdefault(AFTER_ROLLBACK, []).append(undo)


async def commit(db: AsyncSession) -> None:
    """Commit, then run the effects registered on the session. If the commit fails, the caller's
    ``rollback`` runs the undos."""
    await db.commit()
    db.info.pop(AFTER_ROLLBACK, None)  # committed: nothing to undo
    effects = db.info.pop(AFTER_COMMIT, [])
    for effect in effects:
        try:
            await effect()
        except Exception:
            log.warning("an after-commit effect failed", exc_info=True)


async def rollback(db: AsyncSession) -> None:
    db.info.pop(AFTER_COMMIT, None)
    await db.rollback()  # the undos run on the session's rollback event (below) ...
    _undo(db.info)  # ... or here, when the session never began a transaction


def _undo(info: dict[Any, Any]) -> None:
    for undo in info.pop(AFTER_ROLLBACK, []):
        try:
            undo()
        except Exception:
            log.warning("an undo after rollback failed", exc_info=True)


def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    """However the transaction was rolled back (this module's ``rollback``, a bare
    ``session.rollback()``, a failed commit), its effects are dropped and its undos run; a savepoint
    rolled back inside it (``add_once`` finding its row) changes neither."""
    if transaction.parent is not None:
        return
    session.info.pop(AFTER_COMMIT, None)
    _undo(session.info)


event.listen(Session, "after_soft_rollback", _rolled_back)


async def add_once(db: AsyncSession, row: object) -> bool:
    """Insert ``row`` in a savepoint: False, with nothing written, when a unique key says it exists
    already (a redelivered event, or a concurrent request whose insert won)."""
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except sa_exc.IntegrityError:
        return False
    return True


def one_of(
    db: AsyncSession, column: QueryableAttribute[Any] | ColumnElement[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """``column IN values`` as one statement whatever the number of values. A batch asks about as
    many keys or members as it holds: an IN list is a statement of its own for every count, so
    SQLAlchemy compiles it and asyncpg prepares it again (a round trip, under a batch's row lock)
    nearly every batch. On PostgreSQL it is ``column = ANY(:array)``, one parameter, prepared once;
    elsewhere an IN list."""
    values = list(values)
    if db.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def any_of(dialect: str, column: QueryableAttribute[Any] | ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``one_of`` for a statement built once and run many times: ``column`` is one of the list
    given as the parameter ``name`` when the statement runs (``= ANY(:name)`` on PostgreSQL, an
    expanding IN elsewhere)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def database_of(db: AsyncSession) -> Database | None:
    """The ``Database`` whose session factory made this session."""
    return db.info.get("database")


def connection_shortage(exc: BaseException) -> bool:
    """The database could not be reached or gave no connection in time (pool exhausted, "too many
    clients", a server restarting or refusing): worth waiting and trying again, never a 500."""
    if isinstance(exc, sa_exc.TimeoutError):  # the pool's checkout timeout
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        name = type(orig).__name__ if orig is not None else ""
        text_ = str(orig or exc).lower()
        return name in _SHORTAGE_ERRORS or any(marker in text_ for marker in _SHORTAGE_TEXT)
    return isinstance(exc, ConnectionError | OSError) and not isinstance(exc, sa_exc.SQLAlchemyError)


def write_contention(exc: BaseException) -> bool:
    """SQLite gave up waiting for its one writer ("database is locked"): the shop is busy, the
    request can be sent again; nothing it started is saved."""
    return isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(exc.orig or exc).lower()


_SHORTAGE_ERRORS = {
    "TooManyConnectionsError",
    "CannotConnectNowError",
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "InterfaceError",
}
_SHORTAGE_TEXT = ("too many clients", "connection refused", "the database system is", "connection was closed")


async def waiting_for_connections(fn: Callable[[], Awaitable[T]], *, patience: float, what: str) -> T:
    """``fn()``, tried again with backoff while the database has no connection to give, for at most
    ``patience`` seconds; then the last error is raised."""
    deadline = time.monotonic() + patience
    delay = 0.05
    while True:
        try:
            return await fn()
        except Exception as exc:
            if not connection_shortage(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s waits for a database connection (%s)", what, type(exc).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


class Database:
    """Owns the engine and the session factory of one app (or worker) instance, and the scheduler
    its units of work ask for deferred work through (``app.core.scheduling``; None where nothing
    is deferred: seeding, the search indexer, a script)."""

    def __init__(self, settings: Settings, scheduler: Scheduler | None = None) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.engine: AsyncEngine = make_engine(
            settings.database_url,
            null_pool=settings.database_null_pool,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pgbouncer=settings.database_pgbouncer,
        )
        instrument_engine(self.engine, settings)  # a span per statement, when tracing is on
        self.tracer = tracer_for(settings)
        pooled = settings.is_sqlite or not settings.database_null_pool
        watch_pool(self.engine, settings.db_pool_size + settings.db_max_overflow if pooled else None)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, info={"database": self})

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A short unit of work outside a request (tasks, seeding, streams): commit or roll back."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await rollback(session)
                raise
            await commit(session)

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


def pgbouncer_connect_args() -> dict[str, Any]:
    """asyncpg behind PgBouncer in transaction mode (SQLAlchemy's asyncpg notes, "Prepared Statement
    Name with PGBouncer"): each transaction may get another server connection, so nothing prepared
    is cached (asyncpg's ``statement_cache_size``, SQLAlchemy's ``prepared_statement_cache_size``)
    and each statement is prepared under a name of its own, never one another client used there."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
    }


def make_engine(
    url: str,
    *,
    null_pool: bool = False,
    pool_size: int = 10,
    max_overflow: int = 5,
    pool_timeout: float = 10.0,
    pgbouncer: bool = False,
) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args = pgbouncer_connect_args() if pgbouncer else {}
    if null_pool:
        return create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    # No pre-ping: it costs a round trip on every checkout. Connections are recycled before servers
    # or proxies drop idle ones, and a connection found dead invalidates the whole pool at once, so a
    # database restart fails the requests already under way and no more. The pool is the process's
    # share of the server's connections (see the README): past it, a checkout waits ``pool_timeout``.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def request_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
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


def _commit_failure_status(exc: Exception) -> int:
    """What a client is told when its request's commit fails: busy (503, try again), a conflict with
    a change made at the same moment (409), or our own fault (500). Nothing was saved in any case."""
    if connection_shortage(exc) or write_contention(exc):
        return 503
    if isinstance(exc, sa_exc.IntegrityError) or (
        isinstance(exc, sa_exc.DBAPIError) and type(exc.orig).__name__ in _CONFLICT_ERRORS
    ):
        return 409
    return 500


_CONFLICT_ERRORS = {"SerializationError", "DeadlockDetectedError", "UniqueViolationError"}
_PAGE_HEAD = b"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
_ERROR_BODY = _PAGE_HEAD + b"<title>Error</title><h1>Something went wrong</h1><p>Nothing was saved.</p></html>"
_CONFLICT_BODY = (
    _PAGE_HEAD + b"<title>Changed meanwhile</title><h1>Changed at the same moment</h1><p>Nothing was saved: "
    b"something you were changing was changed at the same moment. Reload the page and try again.</p></html>"
)
_BUSY_BODY = (
    _PAGE_HEAD
    + b"<title>Busy</title><h1>Too busy to save that just now</h1><p>Nothing was saved. Please try again in a "
    b"few seconds.</p></html>"
)


class TransactionMiddleware:
    """Commit the request's session on 2xx/3xx, roll back otherwise, before the response leaves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        failed = False

        async def finish(status: int) -> int | None:
            session: AsyncSession | None = scope.get("state", {}).pop(SESSION_STATE_KEY, None)
            if session is None:
                return None
            try:
                if 200 <= status < 400:
                    wrote_events = session.info.pop(WROTE_EVENTS, False)
                    await commit(session)
                    if wrote_events:
                        _wake_relay(scope)
                else:
                    await rollback(session)
                return None
            except Exception as exc:
                log.exception("commit failed")
                await rollback(session)
                return _commit_failure_status(exc)
            finally:
                await session.close()

        async def send_wrapper(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start":
                if (failure := await finish(message["status"])) is not None:
                    failed = True
                    # Nothing was saved; the request can simply be sent again.
                    headers = [(b"content-type", b"text/html; charset=utf-8")]
                    if failure == 503:
                        headers.append((b"retry-after", b"5"))
                    await send({"type": "http.response.start", "status": failure, "headers": headers})
                    body = _BUSY_BODY if failure == 503 else _CONFLICT_BODY if failure == 409 else _ERROR_BODY
                    await send({"type": "http.response.body", "body": body, "more_body": False})
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
                await rollback(leftover)
                await leftover.close()
