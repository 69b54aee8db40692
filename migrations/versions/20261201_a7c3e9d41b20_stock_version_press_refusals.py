"""products.stock_version; press_refusals (the answers of refused Buy presses, by key)

Revision ID: a7c3e9d41b20
Revises: 88d03025acdd
Create Date: 2026-12-01 19:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "a7c3e9d41b20"
down_revision: str | Sequence[str] | None = "88d03025acdd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("stock_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "press_refusals",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_press_refusals_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_press_refusals_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_press_refusals")),
    )
    op.create_index("ix_press_refusals_created_at", "press_refusals", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_press_refusals_created_at", table_name="press_refusals")
    op.drop_table("press_refusals")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("stock_version")
