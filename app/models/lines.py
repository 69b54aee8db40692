"""A waiting room's line: one place per member and product, with the time the member joined and,
once the sale has started, the place itself; and the admissions the line is let in with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LinePlace(Base):
    """A member's place in a product's line. ``place`` is None until the sale starts; then the
    early joiners' places are written once, in the order ``app.drops.line_rules.line_order`` gives
    with the product's ``line_seed``, and every later joiner takes the next one
    (``products.line_length``) as they join (``app.drops.line_places``)."""

    __tablename__ = "line_places"
    __table_args__ = (
        UniqueConstraint("product_id", "member_id", name="uq_line_places_product_id_member_id"),
        UniqueConstraint("product_id", "place", name="uq_line_places_product_id_place"),
        Index("ix_line_places_product_id_joined_at", "product_id", "joined_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime]
    place: Mapped[int | None]


class Admission(Base):
    """A place let in: its member may press Buy once, with the signed token made from this row
    (``app.drops.line_rules.sign_admission``), until ``expires_at``. Issued once per place, in line
    order (``app.drops.admissions``); spent by one conditional UPDATE that records the press's key,
    so a replay of that press is let through again and any other press is not."""

    __tablename__ = "admissions"
    __table_args__ = (
        UniqueConstraint("product_id", "place", name="uq_admissions_product_id_place"),
        UniqueConstraint("product_id", "member_id", name="uq_admissions_product_id_member_id"),
        Index("ix_admissions_product_id_expires_at", "product_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    place: Mapped[int]
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The key of the Buy press the admission was used with.
    press_key: Mapped[str | None] = mapped_column(String(64))
