"""Rebuild the search index from the database from scratch: ``python -m app.search.rebuild``.

The new documents replace the old ones in a single commit, so searches keep answering from the
old index until the new one is complete. The writer is taken before the database is read: products
marked meanwhile (``search_pending``) wait for it and the indexer applies them on top of the rebuilt
index.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from whoosh import writing

from app.db import Database
from app.search import pg_rows
from app.search.documents import all_documents, public_count
from app.search.index import SearchIndex, get_index
from app.settings import Settings

log = logging.getLogger(__name__)


async def rebuild(database: Database, index: SearchIndex | None = None) -> int:
    """Returns how many products are in the rebuilt index. On PostgreSQL the ``product_search``
    rows are rewritten instead (every product's; needed only after a bulk load that bypassed the
    ORM) and the Whoosh index is left alone."""
    if database.backend == "postgresql":
        async with database.transaction() as db:
            await db.run_sync(pg_rows.rebuild_rows)
            return int(await db.scalar(public_count()) or 0)
    assert index is not None
    writer = await asyncio.to_thread(index.open_writer)
    count = 0
    try:
        async with database.transaction() as db:
            async for doc in all_documents(db):
                writer.add_document(**doc)
                count += 1
    except BaseException:
        await asyncio.to_thread(index.finish_writer, writer, commit=False)
        raise
    await asyncio.to_thread(index.finish_writer, writer, commit=True, mergetype=writing.CLEAR)
    return count


async def _main(settings: Settings) -> int:
    database = Database(settings)
    try:
        index = None if database.backend == "postgresql" else get_index(settings.search_path)
        return await rebuild(database, index)
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the product search index from the database.")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    started = time.perf_counter()
    count = asyncio.run(_main(settings))
    took = time.perf_counter() - started
    where = settings.search_path if settings.is_sqlite else "product_search"
    log.info("indexed %d public products into %s in %.1f s", count, where, took)


if __name__ == "__main__":
    main()
