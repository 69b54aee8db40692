"""Site-wide pages that belong to no single part."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import public
from app.models.catalog import Category
from app.web.templating import page


@get("/", name="home")
async def home(request: HTMXRequest, db: NamedDependency[AsyncSession]) -> Template:
    """Live drops, starting soon, live auctions, popular now (each a short list), and the
    top-level categories."""
    roots = select(Category).where(Category.parent_id.is_(None)).order_by(Category.position, Category.name)
    context = {
        "live_drops": await public.live_drops(db),
        "starting_soon": await public.starting_soon(db),
        "live_auctions": await public.live_auctions(db),
        "popular_now": await public.popular_now(db),
        "categories": list((await db.execute(roots)).scalars()),
    }
    return page(request, "home.html", context | public.template_helpers())
