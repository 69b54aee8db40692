"""products.sale_mode (first come, waiting room or draw) and each mode's settings

Revision ID: a9d3e5c7b142
Revises: f4c8d2a6b1e3
Create Date: 2026-12-04 09:00:00.000000

Every existing listing stays first come, first served (the server default). A waiting room's
``admission_rate_per_minute`` is NULL for the shop's setting; a draw keeps its entry window's end,
the minimum account age of its entrants, and its seed with the seed's SHA-256 (the commitment).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "a9d3e5c7b142"
down_revision: str | Sequence[str] | None = "f4c8d2a6b1e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sale_mode", sa.String(length=24), nullable=False, server_default="first_come"))
        batch_op.add_column(sa.Column("admission_rate_per_minute", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("draw_ends_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("draw_min_account_days", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("draw_seed", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("draw_commitment", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("draw_commitment")
        batch_op.drop_column("draw_seed")
        batch_op.drop_column("draw_min_account_days")
        batch_op.drop_column("draw_ends_at")
        batch_op.drop_column("admission_rate_per_minute")
        batch_op.drop_column("sale_mode")
