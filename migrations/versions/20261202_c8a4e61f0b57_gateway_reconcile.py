"""payments.checked_at and refunds.gateway_transaction_key: cancellations made at the gateway

Revision ID: c8a4e61f0b57
Revises: 430bbc05d2a1
Create Date: 2026-12-02 05:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "c8a4e61f0b57"
down_revision: str | Sequence[str] | None = "430bbc05d2a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gateway_transaction_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_refunds_gateway_transaction_key"), ["gateway_transaction_key"])


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_refunds_gateway_transaction_key"), type_="unique")
        batch_op.drop_column("gateway_transaction_key")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
