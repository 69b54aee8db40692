"""On PostgreSQL: run a search over ``product_search`` joined to ``products``, with the same words,
filters, sorts and pages as the Whoosh index (``query.SearchParams`` is shared).

- an English word matches its stem (``plainto_tsquery('english', word)``, so no operator the
  visitor types is ever parsed); the word being typed also matches as a prefix of a name word;
- a Korean/CJK word must have all its 1–2 character grams in ``grams`` (the GIN index finds the
  candidates) and, if longer than a gram, be a true substring of the product's text (``strpos``),
  as in Whoosh;
- price, state and category (with its subtree) filter the row's copy of them, written in the
  same commit as the product; relevance is ``ts_rank`` (name A > category B > description C).

One statement per page: ``product_search`` alone (no join), the count of all matches taken by a
window over the same pass that ranks and sorts them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, cast, func, literal, literal_column, select, true
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import rules as category_rules
from app.catalog.lifecycle import PUBLIC_STATUSES
from app.models.catalog import Category, ProductStatus
from app.search.pg_rows import GRAM_MAX, product_search, query_grams
from app.search.query import PREFIX_MIN, SearchParams

S = ProductStatus
_TIER = {S.AUCTION_LIVE: 0, S.CONVERSION_PENDING: 1, S.ON_SALE: 1, S.SCHEDULED: 2}
PUBLIC = sorted(s.value for s in PUBLIC_STATUSES)
ps = product_search.c
WEIGHTS: ColumnElement[Any] = literal_column(
    "'{0.1, 0.3, 0.6, 1.0}'::float4[]"
)  # D, C (description), B (category), A (name)


async def subtree(db: AsyncSession, category_id: int) -> list[int]:
    rows = (await db.execute(select(Category.id, Category.parent_id))).all()
    parents = {cid: pid for cid, pid in rows}
    return [cid for cid in parents if category_id in category_rules.path_ids(cid, parents)] or [category_id]


def gram_query(grams: list[str]) -> ColumnElement[Any]:
    """A ``tsquery`` of every gram as an exact lexeme (quoted, so nothing in it is an operator)."""
    quoted = ("'" + g.replace("\\", "\\\\").replace("'", "''") + "'" for g in grams)
    return cast(" & ".join(quoted), TSQUERY)


def _word_match(params: SearchParams) -> tuple[list[ColumnElement[bool]], ColumnElement[Any] | None]:
    """Conditions for the words, and the tsquery that ranks them (``None``: nothing to rank)."""
    conditions: list[ColumnElement[bool]] = []
    ranked: ColumnElement[Any] | None = None
    last = params.words[-1] if params.words else None
    words = ps.words
    for word in params.searchable:
        if word.cjk:
            conditions.append(ps.grams.bool_op("@@")(gram_query(query_grams(word.text))))
            if len(word.text) > GRAM_MAX:  # the grams can be in the text without the word
                conditions.append(func.strpos(ps.body, word.text) > 0)
            continue
        query = func.plainto_tsquery("english", word.text)
        matched: ColumnElement[Any] = query
        if params.typing_last and word is last and len(word.text) >= PREFIX_MIN:
            prefix = func.to_tsquery("simple", func.quote_literal(word.text).op("||")(literal(":*A")))
            matched = query.op("||")(prefix)  # one tsquery (stem or prefix): each row is checked once
        conditions.append(words.bool_op("@@")(matched))
        ranked = query if ranked is None else ranked.op("&&")(query)
    return conditions, ranked


async def _filtered(db: AsyncSession, params: SearchParams) -> tuple[Select[Any], ColumnElement[Any] | None] | None:
    stmt = select(ps.product_id, ps.category, func.count().over().label("total"))
    where: list[ColumnElement[bool]] = [ps.status.in_(PUBLIC)]
    ranked = None
    if params.has_text:
        if not params.searchable:
            return None
        conditions, ranked = _word_match(params)
        where += conditions
    if params.status is not None:
        where.append(ps.status == ProductStatus(params.status).value)
    if params.category_id is not None:
        where.append(ps.category_id.in_(await subtree(db, params.category_id)))
    if params.min_price is not None:
        where.append(ps.list_price >= params.min_price)
    if params.max_price is not None:
        where.append(ps.list_price <= params.max_price)
    return stmt.where(and_(true(), *where)), ranked


def _order(params: SearchParams, ranked: ColumnElement[Any] | None) -> list[Any]:
    key = params.sort
    if key == "relevance":
        key = "relevance" if params.searchable else "newest"
    if key == "relevance":
        if ranked is None:  # only CJK words: the name's matches first, then the newest
            return [ps.created_at.desc(), ps.product_id.desc()]
        return [func.ts_rank(WEIGHTS, ps.words, ranked).desc(), ps.product_id.desc()]
    tier = case(*((ps.status == s.value, n) for s, n in _TIER.items()), else_=9)
    orders: dict[str, list[Any]] = {
        "newest": [ps.created_at.desc(), ps.product_id.desc()],
        "price_asc": [ps.list_price, ps.product_id],
        "price_desc": [ps.list_price.desc(), ps.product_id.desc()],
        "ending_soon": [tier, ps.sale_starts_at, ps.product_id],
    }
    return orders[key]


async def find(
    db: AsyncSession, params: SearchParams, number: int, size: int
) -> tuple[list[tuple[int, str]], int, int]:
    """One page of ``(product id, category path)`` in order, the number of matches and the page
    number shown (past the end: the last page)."""
    built = await _filtered(db, params)
    if built is None:
        return [], 0, 1
    stmt, ranked = built
    ordered = stmt.order_by(*_order(params, ranked))
    rows = (await db.execute(ordered.offset((number - 1) * size).limit(size))).all()
    if rows:
        return [(pid, category) for pid, category, _total in rows], int(rows[0].total), number
    if number == 1:
        return [], 0, 1
    # Past the end (rare: a link to a page that has since emptied): count, then show the last page.
    total = int(await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if total == 0:
        return [], 0, 1
    number = min(number, -(-total // size))
    rows = (await db.execute(ordered.offset((number - 1) * size).limit(size))).all()
    return [(pid, category) for pid, category, _total in rows], total, number
