"""On PostgreSQL: each product's row in ``product_search``, written in the product's own
transaction, so every web host searches the same current catalog and no worker is involved.

What is searched comes from the same ``documents.to_document`` rules as the Whoosh index (name
weighted above the category path and the description; never the seller's name). The English
words are stemmed by PostgreSQL (``to_tsvector('english', …)``, the Snowball English stemmer, as
Whoosh's analyzer); the Korean/CJK words are found through ``cjk_grams``, computed here because no
PostgreSQL text-search parser splits Hangul into the pieces a substring search needs. The grams are
kept as a ``tsvector`` of exact lexemes (``array_to_tsvector``, no parser, no stemming): one GIN
index as for a ``text[]``, but a row is checked by a binary search of its sorted lexemes instead
of unpacking an array, which matters when a common syllable makes the planner read every row.

The row also carries a copy of what the filters and sorts read (state, price, category, creation
and sale start), so a search reads this one table: a join to ``products`` would cost a pass over
the whole catalogue for every query. The copy is exactly as current as the words: every change of
these columns is an ORM change or recorded by an outbox event, and both rewrite the row.

Which products to rewrite is taken from the unit of work itself: every product the session
inserted or changed through the ORM, and every product an outbox event names (the status core
changes a status with an ``UPDATE`` statement, but always records ``product.status_changed``).
Just before the commit those rows are rewritten from the database as it is then.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, raiseload
from sqlalchemy.orm.session import SessionTransaction

from app.catalog import rules as category_rules
from app.models.catalog import Category, Product
from app.models.events import OutboxEvent
from app.search.documents import CategoryInfo
from app.search.schema import CJK_RUN, normalise

PENDING = "smore_search_rows"
GRAM_MAX = 2

# Not in the models' metadata: the table exists on PostgreSQL only (see its migration).
metadata = MetaData()
product_search = Table(
    "product_search",
    metadata,
    # The fixed-width columns first: every search reads them in every row it looks at.
    Column("product_id", Integer, primary_key=True),
    Column("category_id", Integer, nullable=False),
    Column("list_price", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sale_starts_at", DateTime(timezone=True), nullable=False),
    Column("status", String(24), nullable=False),
    Column("words", TSVECTOR, nullable=False),
    Column("grams", TSVECTOR, nullable=False),
    Column("category", Text, nullable=False),
    Column("body", Text, nullable=False),
)
COPIED = ("category_id", "status", "list_price", "created_at", "sale_starts_at")

_CJK = re.compile(CJK_RUN)


def cjk_grams(text: str) -> list[str]:
    """The 1- and 2-character grams of each run of CJK characters in ``text``, each once, in order
    of first appearance: ``"가방 인형"`` → ``가, 방, 가방, 인, 형, 인형``."""
    grams: dict[str, None] = {}
    for run in _CJK.findall(normalise(text).lower()):
        for size in range(1, GRAM_MAX + 1):
            for i in range(len(run) - size + 1):
                grams[run[i : i + size]] = None
    return list(grams)


def query_grams(word: str) -> list[str]:
    """The grams an indexed run must contain for ``word`` (a CJK word) to be a substring of it."""
    if len(word) <= GRAM_MAX:
        return [word]
    return list(dict.fromkeys(word[i : i + GRAM_MAX] for i in range(len(word) - GRAM_MAX + 1)))


def gram_lexemes(grams: list[str]) -> Any:
    """``grams`` as a ``tsvector`` of exactly these lexemes."""
    return func.array_to_tsvector(cast(grams, ARRAY(Text)))


def category_path(category_id: int, categories: dict[int, CategoryInfo]) -> str:
    parents = {c.id: c.parent_id for c in categories.values()}
    path_ids = category_rules.path_ids(category_id, parents) or [category_id]
    return " / ".join(categories[i].name for i in path_ids if i in categories)


def row_values(product: Product, categories: dict[int, CategoryInfo]) -> dict[str, Any]:
    name, description = normalise(product.name), normalise(product.description or "")
    category = normalise(category_path(product.category_id, categories))
    words = (
        func.setweight(func.to_tsvector("english", name), literal_column("'A'"))
        .op("||")(func.setweight(func.to_tsvector("english", category), literal_column("'B'")))
        .op("||")(func.setweight(func.to_tsvector("english", description), literal_column("'C'")))
    )
    body = "\n".join([name, category, description])
    return {
        "product_id": product.id,
        "words": words,
        "grams": gram_lexemes(cjk_grams(body)),
        "body": body.lower(),
        "category": category,
        "category_id": product.category_id,
        "status": product.status.value,
        "list_price": product.list_price,
        "created_at": product.created_at,
        "sale_starts_at": product.sale_starts_at,
    }


def _load_categories(session: Session) -> dict[int, CategoryInfo]:
    rows = session.execute(select(Category.id, Category.parent_id, Category.name))
    return {cid: CategoryInfo(cid, pid, name) for cid, pid, name in rows.all()}


def write_rows(session: Session, product_ids: Collection[int]) -> int:
    """Rewrite these products' rows from the database (synchronous: runs inside the commit)."""
    if not product_ids:
        return 0
    ids = sorted(set(product_ids))
    stmt = select(Product).where(Product.id.in_(ids)).options(raiseload("*"))
    products = list(session.execute(stmt.execution_options(populate_existing=True)).scalars())
    gone = set(ids) - {p.id for p in products}
    if gone:
        session.execute(delete(product_search).where(product_search.c.product_id.in_(gone)))
    if not products:
        return 0
    categories = _load_categories(session)
    return _upsert(session, [row_values(p, categories) for p in products])


def _upsert(session: Session, values: list[dict[str, Any]]) -> int:
    for row in values:  # one statement per product: each carries its own to_tsvector expression
        stmt = pg_insert(product_search).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[product_search.c.product_id],
            set_={k: stmt.excluded[k] for k in ("words", "grams", "body", "category", *COPIED)},
        )
        session.execute(stmt)
    return len(values)


def rebuild_rows(session: Session, batch: int = 1000) -> int:
    """Every product's row from scratch (after a bulk load, or a database restored from SQLite)."""
    session.execute(delete(product_search))
    categories = _load_categories(session)
    last_id, count = 0, 0
    while True:
        stmt = select(Product).options(raiseload("*")).where(Product.id > last_id).order_by(Product.id).limit(batch)
        products = list(session.execute(stmt).scalars())
        if not products:
            return count
        count += _upsert(session, [row_values(p, categories) for p in products])
        last_id = products[-1].id
        session.expunge_all()


# -- following the unit of work ---------------------------------------------------------------------


def _on_postgres(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


# The product columns a search row is made of; a change to any other (the units taken by a Buy
# batch, say) leaves the row as it is, so a drop's batches rewrite no search row.
SEARCHED = ("name", "description", *COPIED)


def _searched_columns_changed(product: Product) -> bool:
    attrs = sa_inspect(product).attrs
    return any(attrs[name].history.has_changes() for name in SEARCHED)


def _touched(objects: Iterable[object], *, new: bool) -> set[int]:
    ids: set[int] = set()
    for obj in objects:
        if isinstance(obj, Product) and obj.id is not None and (new or _searched_columns_changed(obj)):
            ids.add(obj.id)
        elif isinstance(obj, OutboxEvent) and obj.aggregate_type == "product":
            ids.add(obj.aggregate_id)
    return ids


def _after_flush(session: Session, _context: Any) -> None:
    if not _on_postgres(session):
        return
    ids = _touched(session.new, new=True) | _touched(session.dirty, new=False)
    if ids:
        session.info.setdefault(PENDING, set()).update(ids)


def _before_commit(session: Session) -> None:
    if (not session.info.get(PENDING) and not (session.new or session.dirty)) or not _on_postgres(session):
        return
    session.flush()  # the last changes first, so their products are collected too
    ids = session.info.pop(PENDING, set())
    if ids:
        write_rows(session, ids)


def _forget(session: Session, _transaction: SessionTransaction) -> None:
    session.info.pop(PENDING, None)


event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _forget)
