"""outbox events: the trace context of the transaction that wrote each event

Revision ID: e7b2c4d9a1f6
Revises: e7a2c4b9d610
Create Date: 2026-12-03 09:00:00.000000

The W3C ``traceparent`` (and ``tracestate``) the relay puts into the event's queue message, so the
handlers' spans continue the trace of the request or job that caused the event. Events written
before this revision have none: their handlers start traces of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e7b2c4d9a1f6"
down_revision: str | Sequence[str] | None = "e7a2c4b9d610"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_context", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("trace_context")
