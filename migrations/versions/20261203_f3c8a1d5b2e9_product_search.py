"""product search in PostgreSQL: a side table of each product's words and Korean n-grams

Revision ID: f3c8a1d5b2e9
Revises: b3d9f2a6c814
Create Date: 2026-12-03 21:00:00.000000

On PostgreSQL the web hosts search the database itself instead of a Whoosh folder each:
``product_search`` holds, one row per product, a ``tsvector`` of English stems (name weighted A,
category path B, description C), the app-computed 1- and 2-character grams of each CJK run and the
normalised text they came from (to check a Korean word as a true substring), both GIN-indexed,
and a copy of what the filters and sorts read (state, price, category, creation and sale start)
so a search reads this table alone. A side table rather than columns on ``products``: the drop
engine rewrites a product row on every purchase-right change, and a wide tsvector and gram list
on that hot row would be copied each time. On SQLite (Whoosh stays the embedded search) the
table is not created.

The products already in the database get their rows here (``_fill``), in batches, before the
indexes are built, so a shop upgraded to this revision searches its whole catalogue at once.
The SQL is this revision's own (a later change to the table must not break this upgrade); only
the gram and category-path rules are shared with the running code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.search.documents import CategoryInfo
from app.search.pg_rows import category_path, cjk_grams
from app.search.schema import normalise

# revision identifiers, used by Alembic.
revision: str = "f3c8a1d5b2e9"
down_revision: str | Sequence[str] | None = "b3d9f2a6c814"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Upgrade schema."""
    if not _postgres():
        return
    op.create_table(
        "product_search",
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("list_price", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sale_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("words", postgresql.TSVECTOR(), nullable=False),
        sa.Column("grams", postgresql.TSVECTOR(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    _fill()
    op.create_index("ix_product_search_words", "product_search", ["words"], postgresql_using="gin")
    op.create_index("ix_product_search_grams", "product_search", ["grams"], postgresql_using="gin")
    op.execute("ANALYZE product_search")


_INSERT = sa.text(
    """
    INSERT INTO product_search
        (product_id, words, grams, body, category, category_id, status, list_price, created_at, sale_starts_at)
    VALUES (
        :id,
        setweight(to_tsvector('english', :name), 'A')
            || setweight(to_tsvector('english', :category), 'B')
            || setweight(to_tsvector('english', :description), 'C'),
        array_to_tsvector(CAST(:grams AS text[])),
        :body, :category, :category_id, :status, :list_price, :created_at, :sale_starts_at
    )
    """
).bindparams(sa.bindparam("grams", type_=postgresql.ARRAY(sa.Text())))


def _fill(batch: int = 1000) -> None:
    """A row for every product already there, as ``app.search.pg_rows.row_values`` writes it."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, parent_id, name FROM categories"))
    categories = {cid: CategoryInfo(cid, pid, name) for cid, pid, name in rows}
    last_id = 0
    while True:
        products = bind.execute(
            sa.text(
                "SELECT id, name, description, category_id, status, list_price, created_at, sale_starts_at "
                "FROM products WHERE id > :last ORDER BY id LIMIT :batch"
            ),
            {"last": last_id, "batch": batch},
        ).all()
        if not products:
            return
        values = []
        for p in products:
            name, description = normalise(p.name), normalise(p.description or "")
            category = normalise(category_path(p.category_id, categories))
            body = "\n".join([name, category, description])
            values.append(
                {
                    "id": p.id,
                    "name": name,
                    "description": description,
                    "category": category,
                    "grams": cjk_grams(body),
                    "body": body.lower(),
                    "category_id": p.category_id,
                    "status": p.status,
                    "list_price": p.list_price,
                    "created_at": p.created_at,
                    "sale_starts_at": p.sale_starts_at,
                }
            )
        bind.execute(_INSERT, values)
        last_id = products[-1].id


def downgrade() -> None:
    """Downgrade schema."""
    if not _postgres():
        return
    op.drop_index("ix_product_search_grams", table_name="product_search")
    op.drop_index("ix_product_search_words", table_name="product_search")
    op.drop_table("product_search")
