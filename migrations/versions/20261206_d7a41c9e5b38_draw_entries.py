"""draw_entries (a draw's entries and what the draw wrote on them), products.drawn_at and draw_units

Revision ID: d7a41c9e5b38
Revises: d7a2c9e4f1b6
Create Date: 2026-12-06 09:00:00.000000

One row per member and product that entered a draw; its id is the entry id the draw publishes. The
draw writes each entry's place in the draw order, its state and the purchase right it got; the
product keeps when the draw was made and how many units it drew for.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "d7a41c9e5b38"
down_revision: str | Sequence[str] | None = "d7a2c9e4f1b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "draw_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("place", sa.Integer(), nullable=True),
        sa.Column("right_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_draw_entries_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_draw_entries_product_id_products"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["right_id"], ["purchase_rights.id"], name=op.f("fk_draw_entries_right_id_purchase_rights")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_entries")),
        sa.UniqueConstraint("product_id", "member_id", name="uq_draw_entries_product_id_member_id"),
        sa.UniqueConstraint("right_id", name=op.f("uq_draw_entries_right_id")),
    )
    op.create_index(op.f("ix_draw_entries_member_id"), "draw_entries", ["member_id"], unique=False)
    op.create_index(
        "ix_draw_entries_product_id_status_place", "draw_entries", ["product_id", "status", "place"], unique=False
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drawn_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("draw_units", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("draw_units")
        batch_op.drop_column("drawn_at")
    op.drop_index("ix_draw_entries_product_id_status_place", table_name="draw_entries")
    op.drop_index(op.f("ix_draw_entries_member_id"), table_name="draw_entries")
    op.drop_table("draw_entries")
