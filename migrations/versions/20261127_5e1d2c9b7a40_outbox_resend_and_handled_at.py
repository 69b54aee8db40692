"""outbox events: resend_at and handled_at, for resending lost messages and pruning

Revision ID: 5e1d2c9b7a40
Revises: a7c3e9d41b20
Create Date: 2026-11-27 09:00:00.000000

Events relayed before this revision are taken as handled when they were published, unless a
handler of theirs is still failing (not parked): those are sent again once, at once. Unpublished
events are sent by the relay as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

# revision identifiers, used by Alembic.
revision: str = "5e1d2c9b7a40"
down_revision: str | Sequence[str] | None = "a7c3e9d41b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resend_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handled_at", app.models.base.UTCDateTime(timezone=True), nullable=True))
    failing = "SELECT 1 FROM event_failures f WHERE f.event_id = outbox_events.id AND f.parked_at IS NULL"
    op.execute(
        f"UPDATE outbox_events SET handled_at = published_at WHERE published_at IS NOT NULL AND NOT EXISTS ({failing})"
    )
    op.execute(
        "UPDATE outbox_events SET resend_at = published_at WHERE published_at IS NOT NULL AND handled_at IS NULL"
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_handled_at"), ["handled_at"], unique=False)
        batch_op.create_index(
            "ix_outbox_events_resend_at",
            ["resend_at"],
            unique=False,
            postgresql_where=sa.text("handled_at IS NULL"),
            sqlite_where=sa.text("handled_at IS NULL"),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_resend_at")
        batch_op.drop_index(batch_op.f("ix_outbox_events_handled_at"))
        batch_op.drop_column("handled_at")
        batch_op.drop_column("resend_at")
