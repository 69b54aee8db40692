"""A draw's entries: one per member and product, its id the entry id the draw publishes, and what
the draw wrote on it (its place in the draw order, its state, the purchase right it got)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class EntryStatus(StrEnum):
    """An entry waits for the draw (entered); the draw makes it a winner (won, with a purchase
    right) or leaves it behind the winners (not drawn), from where the cascade may still offer it a
    unit a winner did not pay for (offered, with a purchase right). Whether that right was paid is
    the right's own status."""

    ENTERED = "entered"
    WON = "won"
    NOT_DRAWN = "not_drawn"
    OFFERED = "offered"


class DrawEntry(Base):
    """``status`` changes only through the status core (``app.drops.draw_grants``)."""

    __tablename__ = "draw_entries"
    __table_args__ = (
        UniqueConstraint("product_id", "member_id", name="uq_draw_entries_product_id_member_id"),
        # the cascade reads the entries left behind in draw order
        Index("ix_draw_entries_product_id_status_place", "product_id", "status", "place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the entry id the draw publishes
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    entered_at: Mapped[datetime]
    status: Mapped[EntryStatus] = mapped_column(default=EntryStatus.ENTERED)
    # 1 for the first entry of the draw order; None until the draw is made
    place: Mapped[int | None]
    right_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_rights.id"), unique=True)
