"""members.email_confirmed_at

Revision ID: b4e9d2f7a3c1
Revises: c5e1a7d3b920
Create Date: 2026-12-05 09:00:00.000000

When a member opened the confirmation link mailed to their address; a draw takes entries only from
confirmed accounts. Members who signed up before it stay unconfirmed until they open a link.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "b4e9d2f7a3c1"
down_revision: str | Sequence[str] | None = "c5e1a7d3b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_confirmed_at", app.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
