"""Products whose search document must be rewritten: marked by the ``search.index`` event handler
in its own transaction, drained into the index in batches by the search indexer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class SearchPending(Base):
    """One row per product waiting for the indexer (no foreign key: a deleted product is marked
    too, so that its document is removed). Each mark bumps ``version``; the indexer deletes a row
    only at the version it read, so a mark made meanwhile is indexed again."""

    __tablename__ = "search_pending"

    product_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1)
