"""A waiting room's line: one place per member and product, with the time the member joined."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LinePlace(Base):
    """A member's place in a product's line; the order is computed from these rows and the
    product's ``line_seed`` (``app.drops.line_rules.line_order``), never stored."""

    __tablename__ = "line_places"
    __table_args__ = (
        UniqueConstraint("product_id", "member_id", name="uq_line_places_product_id_member_id"),
        Index("ix_line_places_product_id_joined_at", "product_id", "joined_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime]
