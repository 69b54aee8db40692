"""status_changes: the history of refunds, auction results, seller applications and members

Revision ID: b4d1f07c9e21
Revises: f2151d0ad35e
Create Date: 2026-12-02 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "b4d1f07c9e21"
down_revision: str | Sequence[str] | None = "f2151d0ad35e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aggregate", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["members.id"], name=op.f("fk_status_changes_actor_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
    )
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_status_changes_aggregate_entity_id", ["aggregate", "entity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_status_changes_aggregate_entity_id")
    op.drop_table("status_changes")
