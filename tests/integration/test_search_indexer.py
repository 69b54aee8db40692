"""The search indexer on a real database: product events only mark products; batches of marks are
written under one index writer; a busy writer leaves the marks for later without waiting long; the
indexer thread wakes after a commit that marked products and stops promptly."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import delete, select
from whoosh.index import LockError

from app.catalog.transitions import transition
from app.models.catalog import Product, ProductStatus
from app.models.search import SearchPending
from app.search.index import get_index
from app.search.indexer import index_pending, mark_for_indexing
from app.search.indexer_thread import SearchIndexer
from tests.helpers.backends import whoosh_only

pytestmark = whoosh_only


async def _marks(app) -> dict[int, int]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(SearchPending.product_id, SearchPending.version))
        return {pid: version for pid, version in rows.all()}


async def test_marks_are_idempotent_and_belong_to_their_transaction(app):
    database = app.state.database
    async with database.transaction() as db:
        await mark_for_indexing(db, 7, 8)
    async with database.transaction() as db:
        await mark_for_indexing(db, 8, 8)
    assert await _marks(app) == {7: 1, 8: 2}  # a mark again bumps the version
    with pytest.raises(RuntimeError):
        async with database.transaction() as db:
            await mark_for_indexing(db, 9)
            raise RuntimeError("the change failed")
    assert 9 not in await _marks(app)


async def test_batches_follow_the_catalog_and_clear_their_marks(app, members, products, settings):
    database, index = app.state.database, get_index(settings.search_path)
    seller = await members.seller()
    shown = [await products.create(seller, name=f"Batch figure {i}") for i in range(5)]
    draft = await products.create(seller, name="Draft figure", status=ProductStatus.DRAFT)
    async with database.transaction() as db:
        await mark_for_indexing(db, *(p.id for p in shown), draft.id)

    assert await index_pending(database, index, limit=4) == 4
    assert len(await _marks(app)) == 2
    assert await index_pending(database, index, limit=4) == 2
    assert await index_pending(database, index) == 0  # nothing marked: nothing to do
    assert await _marks(app) == {}
    assert index.ids() == {p.id for p in shown}

    # hidden and deleted products lose their documents
    async with database.transaction() as db:
        await transition(db, await db.get(Product, shown[0].id), ProductStatus.HIDDEN, reason="counterfeit")
        await db.execute(delete(Product).where(Product.id == shown[1].id))
        await mark_for_indexing(db, shown[0].id, shown[1].id)
    assert await index_pending(database, index) == 2
    assert index.ids() == {p.id for p in shown[2:]}


async def test_a_busy_writer_leaves_the_marks_for_later(app, members, products, settings):
    database, index = app.state.database, get_index(settings.search_path)
    product = await products.create(await members.seller(), name="Patient figure")
    async with database.transaction() as db:
        await mark_for_indexing(db, product.id)
    held = index.open_writer()  # a rebuild, say
    try:
        started = time.monotonic()
        with pytest.raises(LockError):
            await index_pending(database, index, wait=0.3)
        assert time.monotonic() - started < 2
        assert product.id in await _marks(app)
    finally:
        index.finish_writer(held, commit=False)
    assert await index_pending(database, index) == 1
    assert index.ids() == {product.id}


async def test_the_indexer_thread_wakes_after_a_commit_and_stops_promptly(app, members, products, settings):
    index = get_index(settings.search_path)
    product = await products.create(await members.seller(), name="Prompt figure")
    indexer = SearchIndexer(settings)
    indexer.start()
    try:
        await asyncio.sleep(0.3)  # idle: nothing marked yet
        async with app.state.database.transaction() as db:
            await mark_for_indexing(db, product.id)
        started = time.monotonic()
        while product.id not in index.ids() or await _marks(app):  # indexed, then its mark cleared
            assert time.monotonic() - started < 5, "the indexer never indexed the marked product"
            await asyncio.sleep(0.02)
    finally:
        started = time.monotonic()
        assert await asyncio.to_thread(indexer.stop)
        assert time.monotonic() - started < 2
    assert not indexer.running
