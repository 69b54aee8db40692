"""members.language and members.time_zone: the member's own language and time zone

Revision ID: d2f6a9c3e417
Revises: c8a4e61f0b57
Create Date: 2026-12-02 08:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "d2f6a9c3e417"
down_revision: str | Sequence[str] | None = "c8a4e61f0b57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
        batch_op.drop_column("language")
