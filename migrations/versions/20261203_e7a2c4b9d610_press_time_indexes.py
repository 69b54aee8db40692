"""purchase_rights and press_refusals indexed by (product_id, created_at): the seller's live
sell-through chart counts a drop's presses per time bucket since its opening

Revision ID: e7a2c4b9d610
Revises: d2f6a9c3e417
Create Date: 2026-12-03 09:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e7a2c4b9d610"
down_revision: str | Sequence[str] | None = "d2f6a9c3e417"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_purchase_rights_product_id_created_at", "purchase_rights", ["product_id", "created_at"])
    op.create_index("ix_press_refusals_product_id_created_at", "press_refusals", ["product_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_press_refusals_product_id_created_at", table_name="press_refusals")
    op.drop_index("ix_purchase_rights_product_id_created_at", table_name="purchase_rights")
