"""Categories (a small tree of their own) and products with their images, history and stats."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow


class Category(TimestampMixin, Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    slug: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class ProductStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ON_SALE = "on_sale"
    CONVERSION_PENDING = "conversion_pending"
    AUCTION_LIVE = "auction_live"
    ENDED = "ended"
    CANCELLED = "cancelled"
    HIDDEN = "hidden"


class Product(TimestampMixin, Base):
    """A listing. Money in whole won; quantities in units. ``status`` changes only through
    the status core (``app.core.status``), by the table in ``app.catalog.lifecycle``."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("list_price > 0", name="list_price_positive"),
        CheckConstraint("total_quantity >= 1", name="total_quantity_positive"),
        CheckConstraint("fixed_quantity >= 0 AND fixed_quantity <= total_quantity", name="fixed_quantity_range"),
        CheckConstraint("purchase_limit >= 1", name="purchase_limit_positive"),
        CheckConstraint("taken_quantity >= 0 AND taken_quantity <= fixed_quantity", name="taken_quantity_range"),
        Index("ix_products_status_sale_starts_at", "status", "sale_starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False, index=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    list_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    fixed_quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    # Fixed-price units held or sold (purchase rights); the drop engine changes it atomically.
    taken_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Raised by one with every change of ``taken_quantity``, in the same statement: the gate applies
    # a change or a rebuild only if it is newer than what it already reflects.
    stock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    purchase_limit: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    sale_starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    auction_start_price: Mapped[int | None] = mapped_column(BigInteger)
    auction_increment: Mapped[int | None] = mapped_column(BigInteger)
    auction_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ProductStatus] = mapped_column(
        str_enum(ProductStatus), nullable=False, default=ProductStatus.DRAFT, index=True
    )
    # While hidden: the state that unhiding returns to, and the moderator's reason.
    hidden_from: Mapped[ProductStatus | None] = mapped_column(str_enum(ProductStatus))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    popularity: Mapped[int] = mapped_column(Integer, nullable=False, default=0, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

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
    """An uploaded picture: ``{stem}.{ext}`` and ``{stem}_thumb.webp`` under the uploads folder."""

    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    stem: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    extension: Mapped[str] = mapped_column(String(8), nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)

    product: Mapped[Product] = relationship(back_populates="images", lazy="raise")

    @property
    def url(self) -> str:
        return f"/uploads/{self.stem}.{self.extension}"

    @property
    def thumb_url(self) -> str:
        return f"/uploads/{self.stem}_thumb.webp"


class ProductStatusChange(TimestampMixin, Base):
    """History: one row per lifecycle transition."""

    __tablename__ = "product_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True)
    from_status: Mapped[ProductStatus | None] = mapped_column(str_enum(ProductStatus))
    to_status: Mapped[ProductStatus] = mapped_column(str_enum(ProductStatus), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    reason: Mapped[str | None] = mapped_column(String(500))


class ProductDailyStats(Base):
    """Counts per product and UTC day, feeding the popular-now ranking."""

    __tablename__ = "product_daily_stats"
    __table_args__ = (UniqueConstraint("product_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    views: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    purchases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bids: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
