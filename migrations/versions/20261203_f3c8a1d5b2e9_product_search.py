"""product search in PostgreSQL: a side table of each product's words and Korean n-grams

Revision ID: f3c8a1d5b2e9
Revises: b3d9f2a6c814
Create Date: 2026-12-03 21:00:00.000000

On PostgreSQL the web hosts search the database itself instead of a Whoosh folder each:
``product_search`` holds, one row per product, a ``tsvector`` of English stems (name weighted A,
category path B, description C), the app-computed 1- and 2-character grams of each CJK run and the
normalised text they came from (to check a Korean word as a true substring), both GIN-indexed. A
side table rather than columns on ``products``: the drop engine rewrites a product row on every
purchase-right change, and a wide tsvector and gram array on that hot row would be copied each
time. On SQLite (Whoosh stays the embedded search) the table is not created.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

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
        sa.Column("words", postgresql.TSVECTOR(), nullable=False),
        sa.Column("grams", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
    )
    op.create_index("ix_product_search_words", "product_search", ["words"], postgresql_using="gin")
    op.create_index("ix_product_search_grams", "product_search", ["grams"], postgresql_using="gin")


def downgrade() -> None:
    """Downgrade schema."""
    if not _postgres():
        return
    op.drop_index("ix_product_search_grams", table_name="product_search")
    op.drop_index("ix_product_search_words", table_name="product_search")
    op.drop_table("product_search")
