"""The search the web process uses, chosen from the settings: one interface, two implementations.

- ``WhooshSearch`` (SQLite, the embedded default): the Whoosh folder under ``var/``, fed by the
  ``search.index`` event handler and the indexer thread.
- ``PostgresSearch`` (``DATABASE_URL`` is PostgreSQL): ``product_search`` in the database itself,
  written in each product's own transaction (``pg_rows``), so every web host answers the same
  and nothing runs in a worker.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.search import pg_query
from app.search.index import close_index, get_index
from app.search.query import SearchParams
from app.search.service import MAX_PAGE, ProductHit, load_hits, search_products
from app.settings import Settings
from app.web.pagination import Page


class SearchBackend(Protocol):
    name: str

    def open(self) -> None:
        """At start-up: be ready before the first request."""

    def close(self) -> None: ...

    async def search(self, db: AsyncSession, params: SearchParams, page: int = 1, size: int = 20) -> Page[ProductHit]:
        """One page of public products in the order asked for."""
        ...


class WhooshSearch:
    name = "whoosh"

    def __init__(self, settings: Settings) -> None:
        self.path = settings.search_path

    def open(self) -> None:
        get_index(self.path)

    def close(self) -> None:
        close_index(self.path)

    async def search(self, db: AsyncSession, params: SearchParams, page: int = 1, size: int = 20) -> Page[ProductHit]:
        return await search_products(db, get_index(self.path), params, page, size)


class PostgresSearch:
    name = "postgresql"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    async def search(self, db: AsyncSession, params: SearchParams, page: int = 1, size: int = 20) -> Page[ProductHit]:
        size = max(1, size)
        number = min(max(1, page), MAX_PAGE)
        rows, total, number = await pg_query.find(db, params, number, size)
        items = await load_hits(db, rows)
        return Page(items=items, number=number, size=size, total=total, params=params.as_query_dict())


def search_backend(settings: Settings) -> SearchBackend:
    return WhooshSearch(settings) if settings.is_sqlite else PostgresSearch()
