"""Run a search: the index finds and orders the ids, the database supplies what the page shows.

``search`` is synchronous and touches only the index (the benchmark calls it directly);
``search_products`` runs it in a thread and loads the page's products, dropping any that stopped
being public since the index last heard of them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from whoosh import query as wq
from whoosh.searching import Searcher

from app.catalog.lifecycle import LABELS, PUBLIC_STATUSES
from app.models.catalog import Product
from app.models.members import Member
from app.search.index import SearchIndex
from app.search.query import SearchParams, build_query, price_bounds, sort_facet
from app.web.pagination import Page

MAX_PAGE = 200


@dataclass(frozen=True)
class ProductHit:
    product: Product
    seller: str
    category: str

    @property
    def label(self) -> str:
        return LABELS[self.product.status]

    @property
    def thumb_url(self) -> str | None:
        images = self.product.images
        return images[0].thumb_url if images else None


def _allowed_by_price(index: SearchIndex, searcher: Searcher, params: SearchParams) -> set[int] | None:
    bounds = price_bounds(params)
    if bounds is None:
        return None
    low = -(2**63) if bounds[0] is None else bounds[0]
    high = 2**63 if bounds[1] is None else bounds[1]
    return {docnum for docnum, price in enumerate(index.column(searcher, "price")) if low <= price <= high}


def _run(
    index: SearchIndex, searcher: Searcher, params: SearchParams, number: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    query = build_query(params)
    allowed = _allowed_by_price(index, searcher, params)
    if query is wq.NullQuery or allowed == set():  # (an empty filter set would mean "no filter")
        return [], 0
    facet = sort_facet(params)
    results = searcher.search(query, filter=allowed, limit=number * size, sortedby=facet, terms=False)
    if facet is not None:
        total = len(results)  # a sorting collector sees every match: the count is exact and free
    else:
        # A scored search skips blocks that cannot make the top N, so counting is another pass.
        total = sum(1 for d in searcher.docs_for_query(query) if allowed is None or d in allowed)
    hits = [dict(hit.fields()) for hit in results[(number - 1) * size : number * size]]
    return hits, total


def search(index: SearchIndex, params: SearchParams, page: int = 1, size: int = 20) -> Page[dict[str, Any]]:
    """One page of stored fields (``id``, ``name``, ``price``, ``status``, ``seller``…) in order."""
    size = max(1, size)
    number = min(max(1, page), MAX_PAGE)

    def run(searcher: Searcher) -> Page[dict[str, Any]]:
        nonlocal number
        hits, total = _run(index, searcher, params, number, size)
        last = max(1, -(-total // size))
        if number > last:  # past the end: show the last page
            number = min(last, MAX_PAGE)
            hits, total = _run(index, searcher, params, number, size)
        return Page(items=hits, number=number, size=size, total=total, params=params.as_query_dict())

    return index.with_searcher(run)


async def search_products(
    db: AsyncSession, index: SearchIndex, params: SearchParams, page: int = 1, size: int = 20
) -> Page[ProductHit]:
    found = await asyncio.to_thread(search, index, params, page, size)
    items = await load_hits(db, [(int(hit["id"]), hit.get("category", "")) for hit in found.items])
    return Page(items=items, number=found.number, size=found.size, total=found.total, params=found.params)


async def load_hits(db: AsyncSession, found: list[tuple[int, str]]) -> list[ProductHit]:
    """The page's products (with their category paths) in the order found, dropping any that
    stopped being public since the search saw them."""
    ids = [product_id for product_id, _category in found]
    products: dict[int, Product] = {}
    sellers: dict[int, str] = {}
    if ids:
        stmt = select(Product).where(Product.id.in_(ids), Product.status.in_(PUBLIC_STATUSES))
        products = {p.id: p for p in (await db.execute(stmt)).scalars()}
        seller_ids = {p.seller_id for p in products.values()}
        if seller_ids:
            rows = await db.execute(select(Member.id, Member.display_name).where(Member.id.in_(seller_ids)))
            sellers = {member_id: name for member_id, name in rows.all()}
    return [
        ProductHit(products[i], sellers.get(products[i].seller_id, ""), category)
        for i, category in found
        if i in products
    ]
