"""Places recorded in a waiting room's line, and its admissions

Revision ID: d7a2c9e4f1b6
Revises: b4e9d2f7a3c1
Create Date: 2026-12-06 09:00:00.000000

``line_places.place`` is written once for the early joiners when the sale starts and taken from
``products.line_length`` by each later joiner; ``products.line_admitted`` counts the places let
in. ``admissions``: one per place let in, with its nonce (unique), its expiry, and when and with
which press key it was used.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "d7a2c9e4f1b6"
down_revision: str | Sequence[str] | None = "b4e9d2f7a3c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("line_length", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("line_admitted", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("line_places", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_line_places_product_id_place", ["product_id", "place"])
    op.create_table(
        "admissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("issued_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("press_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_admissions_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_admissions_product_id_products"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admissions")),
        sa.UniqueConstraint("nonce", name=op.f("uq_admissions_nonce")),
        sa.UniqueConstraint("product_id", "member_id", name="uq_admissions_product_id_member_id"),
        sa.UniqueConstraint("product_id", "place", name="uq_admissions_product_id_place"),
    )
    op.create_index("ix_admissions_product_id_expires_at", "admissions", ["product_id", "expires_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_admissions_product_id_expires_at", table_name="admissions")
    op.drop_table("admissions")
    with op.batch_alter_table("line_places", schema=None) as batch_op:
        batch_op.drop_constraint("uq_line_places_product_id_place", type_="unique")
        batch_op.drop_column("place")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("line_admitted")
        batch_op.drop_column("line_length")
