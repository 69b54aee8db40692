"""``/admin/products``: find products, see their history, hide and unhide them with a reason."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from app.admin.product_service import STATUS_FILTERS, Filters, ProductModerationService, clean_filters
from app.catalog.lifecycle import LABELS
from app.core.errors import FormInvalid
from app.models.catalog import Product
from app.web.pages import ModerationPages, moderation_action, with_db
from app.web.pagination import wanted
from app.web.templating import page as render


class AdminProductController(ModerationPages):
    path = "/admin/products"
    dependencies = {"moderation": with_db(ProductModerationService)}

    @get("/", name="admin_products")
    async def index(
        self,
        request: HTMXRequest,
        moderation: NamedDependency[ProductModerationService],
        q: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        seller: FromQuery[str | None] = None,
        page: FromQuery[str | None] = None,
    ) -> Template:
        raw = Filters(q or "", status or "", category or "", seller or "")
        context: dict[str, Any] = {
            "statuses": list(STATUS_FILTERS),
            "labels": LABELS,
            "categories": await moderation.categories(),
            "errors": {},
        }
        try:
            filters = clean_filters(raw.q, raw.status, raw.category, raw.seller)
        except FormInvalid as exc:
            context.update(f=raw, listing=None, errors=exc.errors)
            return render(request, "admin/products.html", context, status_code=400)
        listing = await moderation.search(filters, *wanted(request, page))
        context.update(f=filters, listing=listing, page=listing.page)
        return render(request, "admin/products.html", context)

    async def _detail(
        self,
        request: HTMXRequest,
        moderation: ProductModerationService,
        product_id: int,
        status_code: int = 200,
        **extra: Any,
    ) -> Template:
        product = await moderation.get(product_id)
        changes, actors = await moderation.history(product)
        context: dict[str, Any] = {
            "p": product,
            "labels": LABELS,
            "seller": await moderation.seller(product),
            "path": await moderation.category_path(product),
            "changes": changes,
            "actors": actors,
            "trail": await moderation.trail(product),
            "values": {},
            "errors": {},
            **extra,
        }
        return render(request, "admin/product_detail.html", context, status_code=status_code)

    @get("/{product_id:int}", name="admin_product")
    async def detail(
        self, request: HTMXRequest, product_id: FromPath[int], moderation: NamedDependency[ProductModerationService]
    ) -> Template:
        return await self._detail(request, moderation, product_id)

    def _done(self, action: str, target: Product) -> str:
        done = "hidden from the public" if action == "hide" else f"back to “{LABELS[target.status]}”"
        return f"“{target.name}” is {done}."

    hide = moderation_action("hide", "admin_product_hide")
    unhide = moderation_action("unhide", "admin_product_unhide")
