"""line_places (a waiting room's line) and products.line_seed

Revision ID: c5e1a7d3b920
Revises: a9d3e5c7b142
Create Date: 2026-12-04 12:00:00.000000

One row per member and product in a waiting room's line, with the time the member joined; the
product's ``line_seed`` is set by the first join and shuffles those who joined before the start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "c5e1a7d3b920"
down_revision: str | Sequence[str] | None = "a9d3e5c7b142"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "line_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_line_places_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_line_places_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_places")),
        sa.UniqueConstraint("product_id", "member_id", name="uq_line_places_product_id_member_id"),
    )
    op.create_index("ix_line_places_product_id_joined_at", "line_places", ["product_id", "joined_at"], unique=False)
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_seed", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("line_seed")
    op.drop_index("ix_line_places_product_id_joined_at", table_name="line_places")
    op.drop_table("line_places")
