"""Categories (a small tree of their own) and products with their images, history and stats."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, StatusHistory, TimestampMixin, UpdatedAtMixin, Won, in_range, positive


class Category(TimestampMixin, Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int] = mapped_column(default=0)


class ProductStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ON_SALE = "on_sale"
    CONVERSION_PENDING = "conversion_pending"
    AUCTION_LIVE = "auction_live"
    ENDED = "ended"
    CANCELLED = "cancelled"
    HIDDEN = "hidden"


class SaleMode(StrEnum):
    """How the fixed-price units are sold: first come, first served; through a waiting room whose
    line is let in at a set rate from the start; or by a draw among the entries of a window."""

    FIRST_COME = "first_come"
    WAITING_ROOM = "waiting_room"
    DRAW = "draw"


class Product(UpdatedAtMixin, Base):
    """A listing. Money in whole won; quantities in units. ``status`` changes only through
    the status core (``app.core.status``), by the table in ``app.catalog.lifecycle``."""

    __tablename__ = "products"
    __table_args__ = (
        positive("list_price"),
        positive("total_quantity", ">= 1"),
        in_range("fixed_quantity", 0, "total_quantity"),
        positive("purchase_limit", ">= 1"),
        in_range("taken_quantity", 0, "fixed_quantity"),
        Index("ix_products_status_sale_starts_at", "status", "sale_starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    list_price: Mapped[Won]
    total_quantity: Mapped[int]
    fixed_quantity: Mapped[int]
    # Fixed-price units held or sold (purchase rights); the drop engine changes it atomically.
    taken_quantity: Mapped[int] = mapped_column(default=0)
    # Raised by one with every change of ``taken_quantity``, in the same statement: the gate applies
    # a change or a rebuild only if it is newer than what it already reflects.
    stock_version: Mapped[int] = mapped_column(default=0, server_default="0")
    purchase_limit: Mapped[int] = mapped_column(default=1)
    sale_starts_at: Mapped[datetime]
    auction_start_price: Mapped[Won | None]
    auction_increment: Mapped[Won | None]
    auction_duration_minutes: Mapped[int | None]
    status: Mapped[ProductStatus] = mapped_column(default=ProductStatus.DRAFT, index=True)
    # While hidden: the state that unhiding returns to, and the moderator's reason.
    hidden_from: Mapped[ProductStatus | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    popularity: Mapped[int] = mapped_column(default=0, index=True)
    # The sale mode the seller chose (``app/catalog/sale_mode_rules.py``). A waiting room lets its
    # line in at ``admission_rate_per_minute`` (None: the shop's ADMISSION_RATE_PER_MINUTE). A draw
    # takes entries from ``sale_starts_at`` until ``draw_ends_at`` from members whose account is at
    # least ``draw_min_account_days`` old; its seed is chosen when the listing becomes a draw and
    # only ``draw_commitment`` (the seed's SHA-256) is shown until the draw is made.
    sale_mode: Mapped[SaleMode] = mapped_column(default=SaleMode.FIRST_COME, server_default=SaleMode.FIRST_COME.value)
    admission_rate_per_minute: Mapped[int | None]
    draw_ends_at: Mapped[datetime | None]
    draw_min_account_days: Mapped[int] = mapped_column(default=0, server_default="0")
    draw_seed: Mapped[str | None] = mapped_column(String(64))
    draw_commitment: Mapped[str | None] = mapped_column(String(64))
    # When the draw was made (None: not yet; set once, by the conditional update that makes it) and
    # the number of units it drew for (the fixed-price units left then).
    drawn_at: Mapped[datetime | None]
    draw_units: Mapped[int | None]
    # A waiting room's seed, set by the first join: it shuffles those who joined before the start.
    line_seed: Mapped[str | None] = mapped_column(String(64))
    # The places given in the line: None until the early joiners' places are written at the start,
    # then raised by one for each later joiner, whose place it is (``app/drops/line_places.py``).
    line_length: Mapped[int | None]
    # The places let in so far: admissions are issued in line order, once per place.
    line_admitted: Mapped[int] = mapped_column(default=0, server_default="0")

    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def fixed_left(self) -> int:
        return self.fixed_quantity - self.taken_quantity

    @property
    def auction_quantity(self) -> int:
        return self.total_quantity - self.fixed_quantity


class ProductImage(TimestampMixin, Base):
    """An uploaded picture: ``{stem}.{ext}`` and ``{stem}_thumb.webp`` in the picture storage
    (``app/catalog/pictures.py``). The stem is the SHA-256 of the stored picture's bytes (older rows
    have a random hex stem), so the same picture uploaded twice is stored once and rows may share it."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    stem: Mapped[str] = mapped_column(String(64), index=True)
    extension: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]

    product: Mapped[Product] = relationship(back_populates="images", lazy="raise")

    @property
    def url(self) -> str:
        return f"/uploads/{self.stem}.{self.extension}"

    @property
    def thumb_url(self) -> str:
        return f"/uploads/{self.stem}_thumb.webp"


class StoredPicture(TimestampMixin, Base):
    """A picture's bytes kept in the database (``PICTURE_STORAGE=database``), so every web host
    serves every picture; ``name`` is the file name of the URL (``{sha256}.png``, ``…_thumb.webp``)."""

    __tablename__ = "stored_pictures"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProductStatusChange(StatusHistory, Base):
    """History: one row per lifecycle transition."""

    __tablename__ = "product_status_changes"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[ProductStatus | None]
    to_status: Mapped[ProductStatus]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str | None] = mapped_column(String(500))


class ProductDailyStats(Base):
    """Counts per product and UTC day, feeding the popular-now ranking."""

    __tablename__ = "product_daily_stats"
    __table_args__ = (UniqueConstraint("product_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(index=True)
    views: Mapped[int] = mapped_column(default=0)
    purchases: Mapped[int] = mapped_column(default=0)
    bids: Mapped[int] = mapped_column(default=0)
