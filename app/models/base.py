"""Declarative base, naming conventions and column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Annotated, Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, MetaData, String
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[Enum], length: int = 24) -> SAEnum:
    """Store an enum by value in a VARCHAR (no native type, so migrations stay portable)."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# Money: whole won, in a BIGINT.
Won = Annotated[int, "won"]


def positive(column: str, condition: str = "> 0") -> CheckConstraint:
    """A CHECK that ``column`` is above zero, named ``<column>_positive``."""
    return CheckConstraint(f"{column} {condition}", name=f"{column}_positive")


def in_range(column: str, low: int | str, high: int | str, name: str | None = None) -> CheckConstraint:
    """A CHECK that ``low <= column <= high`` (either bound may be another column), named ``<column>_range``."""
    return CheckConstraint(f"{column} >= {low} AND {column} <= {high}", name=name or f"{column}_range")


class Base(DeclarativeBase):
    """A column takes its type from its annotation unless it names one: ``Mapped[datetime]`` is a UTC
    timestamp, an enum is stored by value (``str_enum``), ``Won`` is a BIGINT; ``X | None`` is NULL-able."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), StrEnum: str_enum(StrEnum), Won: BigInteger()}

    def __repr__(self) -> str:
        ident: Any = getattr(self, "id", None)
        return f"<{type(self).__name__} id={ident}>"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UpdatedAtMixin(TimestampMixin):
    """``updated_at``: stamped on every update through the ORM."""

    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StatusHistory(TimestampMixin):
    """A history table's row, one per move of its aggregate's status. The table adds its aggregate's
    key and ``from_status`` (None: the aggregate's first status) and ``to_status`` in its own enum."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    reason: Mapped[str | None] = mapped_column(String(200))
