"""Site-wide pages that belong to no single part."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.catalog import Category
from app.web.templating import page


@get("/", name="home")
async def home(request: HTMXRequest, db: NamedDependency[AsyncSession]) -> Template:
    roots = (
        (
            await db.execute(
                select(Category).where(Category.parent_id.is_(None)).order_by(Category.position, Category.name)
            )
        )
        .scalars()
        .all()
    )
    return page(request, "home.html", {"categories": roots})
