"""The sandbox gateway's own SQLite file (never the shop's database).

Every operation runs in a worker thread as one ``BEGIN IMMEDIATE`` transaction, so a
read-modify-write is atomic across the threads of one process (a lock) and across the web
processes sharing the file (SQLite's write lock, waited for through ``busy_timeout``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    card TEXT NOT NULL,
    created_at REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_order ON payments (order_id, created_at);
CREATE TABLE IF NOT EXISTS idempotent_replies (
    scope TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


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


class SandboxStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(conn)`` in one write transaction, committed unless it raises."""
        return await asyncio.to_thread(self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
            finally:
                conn.close()


def get_payment(conn: sqlite3.Connection, payment_key: str) -> StoredPayment | None:
    row = conn.execute("SELECT card, created_at, doc FROM payments WHERE payment_key = ?", (payment_key,)).fetchone()
    return StoredPayment(row[0], row[1], json.loads(row[2])) if row else None


def payments_for_order(conn: sqlite3.Connection, order_id: str) -> list[StoredPayment]:
    rows = conn.execute(
        "SELECT card, created_at, doc FROM payments WHERE order_id = ? ORDER BY created_at, rowid", (order_id,)
    ).fetchall()
    return [StoredPayment(card, created_at, json.loads(doc)) for card, created_at, doc in rows]


def insert_payment(conn: sqlite3.Connection, doc: dict[str, Any], card: str) -> None:
    conn.execute(
        "INSERT INTO payments (payment_key, order_id, card, created_at, doc) VALUES (?, ?, ?, ?, ?)",
        (doc["paymentKey"], doc["orderId"], card, time.time(), json.dumps(doc, ensure_ascii=False)),
    )


def save_payment(conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE payments SET doc = ? WHERE payment_key = ?", (json.dumps(doc, ensure_ascii=False), doc["paymentKey"])
    )


def stored_reply(conn: sqlite3.Connection, scope: str) -> StoredReply | None:
    row = conn.execute("SELECT request_hash, status, body FROM idempotent_replies WHERE scope = ?", (scope,)).fetchone()
    return StoredReply(row[0], row[1], json.loads(row[2])) if row else None


def remember_reply(conn: sqlite3.Connection, scope: str, request_hash: str, status: int, body: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO idempotent_replies (scope, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (scope, request_hash, status, json.dumps(body, ensure_ascii=False), time.time()),
    )
