"""Keep the index in step with the catalog: every product event reloads the product and writes its
document, or removes it when the product is gone or no longer public.

The index writer is taken *before* the product is read, so two handlers for the same product (two
worker threads or processes) cannot write an older state over a newer one: whoever writes last
read last. Whoosh is synchronous, so its calls run in a thread and never block the event loop.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.transitions import PRODUCT_CHANGED, STATUS_CHANGED
from app.events.handlers import on
from app.models.events import OutboxEvent
from app.search.documents import product_document
from app.search.index import SearchIndex, get_index


async def reindex_product(db: AsyncSession, index: SearchIndex, product_id: int) -> bool:
    """Returns True when the product is now in the index, False when it was removed."""
    writer = await asyncio.to_thread(index.open_writer)
    try:
        doc = await product_document(db, product_id)
        await asyncio.to_thread(index.apply, writer, product_id, doc)
    except BaseException:
        await asyncio.to_thread(index.finish_writer, writer, commit=False)
        raise
    await asyncio.to_thread(index.finish_writer, writer, commit=True)
    return doc is not None


@on(STATUS_CHANGED, PRODUCT_CHANGED, name="search.index")
async def index_product(db: AsyncSession, event: OutboxEvent) -> None:
    from tasks import runtime

    if event.aggregate_type != "product":
        return
    await reindex_product(db, get_index(runtime.settings().search_path), event.aggregate_id)
