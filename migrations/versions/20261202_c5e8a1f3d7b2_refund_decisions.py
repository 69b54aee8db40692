"""refund decisions: who decided a request for money only, when, and why not

Revision ID: c5e8a1f3d7b2
Revises: b4d1f07c9e21
Create Date: 2026-12-02 05:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "c5e8a1f3d7b2"
down_revision: str | Sequence[str] | None = "b4d1f07c9e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.String(length=300), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_refunds_decided_by_id_members"), "members", ["decided_by_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_refunds_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_status"))
        batch_op.drop_constraint(batch_op.f("fk_refunds_decided_by_id_members"), type_="foreignkey")
        batch_op.drop_column("decision_reason")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
