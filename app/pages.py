"""Site-wide pages that belong to no single part."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import public
from app.web.templating import page


@get("/", name="home")
async def home(request: HTMXRequest, db: NamedDependency[AsyncSession]) -> Template:
    """Live drops, starting soon, live auctions, popular now (each a short list), and the
    top-level categories."""
    return page(request, "home.html", await public.home_sections(db) | public.template_helpers())
