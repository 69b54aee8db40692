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
from app.search.documents import all_documents
from app.search.index import SearchIndex, get_index
from app.settings import Settings

log = logging.getLogger(__name__)


async def rebuild(database: Database, index: SearchIndex) -> int:
    """Returns how many products are in the rebuilt index."""
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
        return await rebuild(database, get_index(settings.search_path))
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
    log.info("indexed %d public products into %s in %.1f s", count, settings.search_path, took)


if __name__ == "__main__":
    main()
