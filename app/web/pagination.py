"""Offset pagination for lists that can grow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.web.forms import parse_positive_int

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int
    params: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def url(self, number: int) -> str:
        query = {k: v for k, v in self.params.items() if v}
        query["page"] = str(number)
        return "?" + urlencode(query)


async def paginate(
    db: AsyncSession, stmt: Select[Any], number: int, size: int, params: dict[str, str] | None = None
) -> Page[Any]:
    total = (await db.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one()
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = (await db.execute(stmt.limit(size).offset((number - 1) * size))).scalars().all()
    return Page(items=list(rows), number=number, size=size, total=total, params=params or {})


def wanted(request: Any, page: str | None) -> tuple[int, int]:
    """The page number a list view was asked for (``?page=``) and the app's page size."""
    size: int = request.app.state.settings.page_size
    return parse_positive_int(page), size
