"""Site-wide pages that belong to no single part."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.htmx import HTMXRequest
from litestar.response import File, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import public
from app.settings import PROJECT_ROOT
from app.web.templating import page

FAVICON = PROJECT_ROOT / "static" / "favicon.ico"


@get("/", name="home")
async def home(request: HTMXRequest, db: NamedDependency[AsyncSession]) -> Template:
    """Live drops, starting soon, live auctions, popular now (each a short list), and the
    top-level categories."""
    return page(request, "home.html", await public.home_sections(db) | public.template_helpers())


@get("/favicon.ico", name="favicon", opt={"loads_member": False}, include_in_schema=False)
async def favicon() -> File:
    """The shop's icon where browsers look for it first (a week in their cache)."""
    return File(
        FAVICON,
        content_disposition_type="inline",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=604800"},
    )
