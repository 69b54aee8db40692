"""Keep the index in step with the catalog without holding up the queue.

Every product event runs the ``search.index`` handler, which only *marks* the product in
``search_pending``: one upsert in the handler's own transaction (fast, durable, idempotent), so a
burst of product events never fills the worker's threads with handlers waiting for the single
index writer. The search indexer (``indexer_thread``, one per worker process) drains the marks
with ``index_pending``, a batch at a time under one writer:

- the writer is taken *before* the marks and the products are read, so two indexers (two worker
  processes, or a rebuild) cannot write an older state over a newer one: whoever writes last read
  last;
- each product gets its document, or loses it when it is gone or no longer public;
- after the index commit each mark is deleted at the version it was read with: a product marked
  again meanwhile stays marked and is indexed again in the next batch;
- a writer still busy after a short wait raises ``LockError`` and the marks stay for a later try.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from whoosh.writing import IndexWriter

from app.db import Database, after_commit
from app.events.handlers import on
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.events import OutboxEvent
from app.models.search import SearchPending
from app.search.documents import product_documents
from app.search.index import SearchIndex

BATCH = 300  # products per index writer
WRITER_WAIT = 1.0  # seconds to wait for a busy writer before leaving the batch for later

_WAKERS: set[Callable[[], None]] = set()


async def mark_for_indexing(db: AsyncSession, *product_ids: int) -> None:
    """Record that these products need their search document rewritten (after this commit)."""
    if not product_ids:
        return
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = insert(SearchPending).values(
        [{"product_id": pid, "changed_at": now, "version": 1} for pid in sorted(set(product_ids))]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[SearchPending.product_id],
        set_={"changed_at": stmt.excluded.changed_at, "version": SearchPending.version + 1},
    )
    await db.execute(stmt)
    after_commit(db, _wake_all)


@on(Topic.PRODUCT_STATUS_CHANGED, Topic.PRODUCT_CHANGED, name="search.index")
async def index_product(db: AsyncSession, event: OutboxEvent) -> None:
    # On PostgreSQL the product's own transaction already wrote its search row (``pg_rows``).
    if event.aggregate_type == "product" and db.get_bind().dialect.name != "postgresql":
        await mark_for_indexing(db, event.aggregate_id)


async def index_pending(
    database: Database, index: SearchIndex, *, limit: int = BATCH, wait: float = WRITER_WAIT
) -> int:
    """Index one batch of marked products, oldest marks first; returns how many (0: none marked).
    Raises ``LockError`` when the writer is still busy after ``wait`` seconds."""
    async with database.transaction() as db:
        if await db.scalar(select(SearchPending.product_id).limit(1)) is None:
            return 0  # nothing to do: the writer is not taken
    writer = await asyncio.to_thread(index.open_writer, wait)
    try:
        async with database.transaction() as db:
            stmt = (
                select(SearchPending.product_id, SearchPending.version)
                .order_by(SearchPending.changed_at, SearchPending.product_id)
                .limit(limit)
            )
            marks: dict[int, int] = {pid: version for pid, version in (await db.execute(stmt)).all()}
            docs = await product_documents(db, list(marks))
        await asyncio.to_thread(_apply_all, index, writer, docs)
    except BaseException:
        await asyncio.to_thread(index.finish_writer, writer, commit=False)
        raise
    await asyncio.to_thread(index.finish_writer, writer, commit=bool(marks))
    if marks:
        async with database.transaction() as db:
            await db.execute(
                delete(SearchPending).where(
                    tuple_(SearchPending.product_id, SearchPending.version).in_(list(marks.items()))
                )
            )
    return len(marks)


def _apply_all(index: SearchIndex, writer: IndexWriter, docs: Mapping[int, dict[str, Any] | None]) -> None:
    for product_id, doc in docs.items():
        index.apply(writer, product_id, doc)


# -- waking the indexers of this process after a commit that marked products ----------------------


def add_waker(wake: Callable[[], None]) -> None:
    """Call ``wake`` (from any thread) after each commit in this process that marked products."""
    _WAKERS.add(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    _WAKERS.discard(wake)


async def _wake_all() -> None:
    for wake in list(_WAKERS):
        wake()
