"""pictures every host can serve: picture bytes in the database; stems shared by content

Revision ID: b3d9f2a6c814
Revises: e7b2c4d9a1f6
Create Date: 2026-12-03 12:00:00.000000

``stored_pictures`` keeps a picture's bytes by its file name when pictures live in the database
(PostgreSQL by default), so a picture uploaded through one web host is served by all of them.
New pictures are named by the SHA-256 of their bytes, so the same picture uploaded twice is one
stored picture: ``product_images.stem`` is no longer unique, only indexed. Older random stems keep
working; their files stay where they are (a folder install keeps its folder).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "b3d9f2a6c814"
down_revision: str | Sequence[str] | None = "e7b2c4d9a1f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "stored_pictures",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stored_pictures")),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_product_images_stem"), type_="unique")
        batch_op.create_index(batch_op.f("ix_product_images_stem"), ["stem"], unique=False)


def downgrade() -> None:
    """Downgrade schema (fails if two pictures share a stem, as it must)."""
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_images_stem"))
        batch_op.create_unique_constraint(batch_op.f("uq_product_images_stem"), ["stem"])
    op.drop_table("stored_pictures")
