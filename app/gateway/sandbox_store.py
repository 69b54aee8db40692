"""Where the sandbox gateway keeps its payments and idempotent replies (never the shop's tables).

Two stores with the same helpers (``SandboxTx``): a SQLite file of its own
(``var/sandbox-gateway.sqlite3``, the embedded default) and, when the shop runs on PostgreSQL, a
schema of its own in that database (``sandbox_gateway``), so every host behind a balancer sees
the same payments: a checkout opened through one host is confirmed and cancelled through any
other. ``SANDBOX_GATEWAY_DATABASE_URL`` puts it in another database (or SQLite file) instead.

Every operation is one transaction, and the transactions are serialised across all threads,
processes and hosts, so a read-modify-write (a confirm, a cancel, an Idempotency-Key's first
answer) is atomic: on SQLite through ``BEGIN IMMEDIATE`` (its one writer, waited for through
``busy_timeout``), on PostgreSQL through one transaction-scoped advisory lock taken first. The
store makes its own tables on first use (``IF NOT EXISTS``, under the same lock, so hosts starting
together never race); they are a separate system's, not in the shop's migrations.

The store has its own engine: a small pool, never the shop's request transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.settings import Settings, normalise_database_url

T = TypeVar("T")

STORE_FILE = "sandbox-gateway.sqlite3"
SCHEMA = "sandbox_gateway"
# The one advisory lock every sandbox transaction on PostgreSQL takes first ("sbx" in ASCII); the
# shop takes no advisory locks of its own.
ADVISORY_LOCK = 0x736278
POOL_SIZE = 2

_SQLITE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS payments (
        payment_key TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        card TEXT NOT NULL,
        created_at REAL NOT NULL,
        doc TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS payments_by_order ON payments (order_id, created_at)",
    """CREATE TABLE IF NOT EXISTS idempotent_replies (
        scope TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
)
_POSTGRES_SCHEMA = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.payments (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        payment_key TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        card TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        doc TEXT NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS payments_by_order ON {SCHEMA}.payments (order_id, created_at)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.idempotent_replies (
        scope TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
)


@dataclass(frozen=True)
class StoredPayment:
    card: str
    created_at: float
    doc: dict[str, Any]


@dataclass(frozen=True)
class StoredReply:
    request_hash: str
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Tables:
    """The two tables' names as SQL, and what orders payments made in the same instant."""

    payments: str
    replies: str
    insertion_order: str


class SandboxTx:
    """One open transaction of a store: every statement the sandbox runs."""

    def __init__(self, conn: AsyncConnection, tables: Tables) -> None:
        self.conn = conn
        self.tables = tables

    async def get_payment(self, payment_key: str) -> StoredPayment | None:
        query = f"SELECT card, created_at, doc FROM {self.tables.payments} WHERE payment_key = :key"
        row = (await self.conn.execute(text(query), {"key": payment_key})).first()
        return StoredPayment(row[0], row[1], json.loads(row[2])) if row else None

    async def payments_for_order(self, order_id: str) -> list[StoredPayment]:
        query = (
            f"SELECT card, created_at, doc FROM {self.tables.payments} WHERE order_id = :order_id "
            f"ORDER BY created_at, {self.tables.insertion_order}"
        )
        rows = (await self.conn.execute(text(query), {"order_id": order_id})).all()
        return [StoredPayment(card, created_at, json.loads(doc)) for card, created_at, doc in rows]

    async def insert_payment(self, doc: dict[str, Any], card: str) -> None:
        statement = (
            f"INSERT INTO {self.tables.payments} (payment_key, order_id, card, created_at, doc) "
            "VALUES (:key, :order_id, :card, :created_at, :doc)"
        )
        values = {
            "key": doc["paymentKey"],
            "order_id": doc["orderId"],
            "card": card,
            "created_at": time.time(),
            "doc": json.dumps(doc, ensure_ascii=False),
        }
        await self.conn.execute(text(statement), values)

    async def save_payment(self, doc: dict[str, Any]) -> None:
        statement = f"UPDATE {self.tables.payments} SET doc = :doc WHERE payment_key = :key"
        await self.conn.execute(text(statement), {"doc": json.dumps(doc, ensure_ascii=False), "key": doc["paymentKey"]})

    async def stored_reply(self, scope: str) -> StoredReply | None:
        query = f"SELECT request_hash, status, body FROM {self.tables.replies} WHERE scope = :scope"
        row = (await self.conn.execute(text(query), {"scope": scope})).first()
        return StoredReply(row[0], row[1], json.loads(row[2])) if row else None

    async def remember_reply(self, scope: str, request_hash: str, status: int, body: dict[str, Any]) -> None:
        statement = (
            f"INSERT INTO {self.tables.replies} (scope, request_hash, status, body, created_at) "
            "VALUES (:scope, :hash, :status, :body, :created_at)"
        )
        values = {
            "scope": scope,
            "hash": request_hash,
            "status": status,
            "body": json.dumps(body, ensure_ascii=False),
            "created_at": time.time(),
        }
        await self.conn.execute(text(statement), values)


class SandboxStore:
    """An engine of the sandbox's own and the one-serialised-transaction rule; the subclasses
    say how a transaction is serialised and how the tables are made."""

    tables: Tables
    schema: tuple[str, ...]

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._ready = False

    async def transaction(self, work: Callable[[SandboxTx], Awaitable[T]]) -> T:
        """Run ``work(tx)`` in one serialised transaction, committed unless it raises."""
        if not self._ready:
            await self._run(self._create_tables)
            self._ready = True
        return await self._run(work)

    async def _run(self, work: Callable[[SandboxTx], Awaitable[T]]) -> T:
        async with self.engine.begin() as conn:  # commits, or rolls back on an exception
            await self._serialise(conn)
            return await work(SandboxTx(conn, self.tables))

    async def _create_tables(self, tx: SandboxTx) -> None:
        for statement in self.schema:
            await tx.conn.execute(text(statement))

    async def _serialise(self, conn: AsyncConnection) -> None:
        """Hold the store's one writer's place until ``conn``'s transaction ends."""

    async def dispose(self) -> None:
        await self.engine.dispose()


class SqliteSandboxStore(SandboxStore):
    """A SQLite file; ``BEGIN IMMEDIATE`` takes the file's write lock at the start of each
    transaction, so readers and writers alike wait their turn (up to ``busy_timeout``)."""

    tables = Tables("payments", "idempotent_replies", "rowid")
    schema = _SQLITE_SCHEMA

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A connection per transaction, as a file needs no pool (and none is tied to an event loop).
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the transaction is begun below, not by the driver
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        super().__init__(engine)


class PostgresSandboxStore(SandboxStore):
    """The ``sandbox_gateway`` schema of a PostgreSQL database; each transaction first takes one
    advisory lock (``pg_advisory_xact_lock``, released by its commit or rollback)."""

    tables = Tables(f"{SCHEMA}.payments", f"{SCHEMA}.idempotent_replies", "seq")
    schema = _POSTGRES_SCHEMA

    async def _serialise(self, conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})


def sandbox_store(settings: Settings) -> SandboxStore:
    """The store for ``settings``: ``SANDBOX_GATEWAY_DATABASE_URL`` if set, else the shop's
    PostgreSQL database, else the SQLite file under ``var/``."""
    from app.db import make_engine  # app.db imports the settings this module is imported by

    url = settings.sandbox_gateway_database_url
    if url is None:
        if settings.is_sqlite:
            return SqliteSandboxStore(settings.var_dir / STORE_FILE)
        url = settings.database_url
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        return SqliteSandboxStore(Path(url.split(":///", 1)[1]))
    engine = make_engine(
        url,
        null_pool=settings.database_null_pool,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout,
        pgbouncer=settings.database_pgbouncer,
    )
    return PostgresSandboxStore(engine)
