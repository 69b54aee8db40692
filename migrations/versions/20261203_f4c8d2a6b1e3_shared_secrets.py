"""shared secrets (one secret for every web host when SECRET_KEY is unset); audit entries keep the client address

Revision ID: f4c8d2a6b1e3
Revises: f3c8a1d5b2e9
Create Date: 2026-12-03 12:00:00.000000

On PostgreSQL without ``SECRET_KEY``, the first web process to start writes a generated secret
here (``INSERT … ON CONFLICT DO NOTHING``) and every process on every host reads that one back
(``app/core/shared_secret.py``), so a form one host rendered passes its CSRF check on another.
SQLite keeps its secret in ``var/secret_key``; the table is created there too and stays empty.

``audit_log.client_address``: the address of the request that did it, as the trusted proxies name
it (``TRUSTED_PROXIES``); entries written before this revision have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "f4c8d2a6b1e3"
down_revision: str | Sequence[str] | None = "f3c8a1d5b2e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_shared_secrets")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("client_address")
    op.drop_table("shared_secrets")
