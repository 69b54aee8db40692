"""``/admin/products``: find products, see their history, hide and unhide them with a reason."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency, Provide
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from app.admin.product_service import STATUS_FILTERS, Filters, ProductModerationService, clean_filters
from app.catalog.lifecycle import LABELS
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.core.labels import label
from app.models.catalog import Product
from app.web.pages import ModerationPages, moderation_action, moderation_page, with_db
from app.web.pagination import wanted
from app.web.params import Query
from app.web.templating import page as render

Moderation = NamedDependency[ProductModerationService]
Sent = NamedDependency[Filters]  # the filters as the query sent them (``clean_filters`` checks them)


def sent_filters(q: Query = None, status: Query = None, category: Query = None, seller: Query = None) -> Filters:
    return Filters(q or "", status or "", category or "", seller or "")


class AdminProductController(ModerationPages):
    path = "/admin/products"
    dependencies = {"moderation": with_db(ProductModerationService), "raw": Provide(sent_filters, sync_to_thread=False)}

    @get("/", name="admin_products")
    async def index(self, request: HTMXRequest, moderation: Moderation, raw: Sent, page: Query = None) -> Template:
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
        status_code: int,
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

    detail = moderation_page("admin_product")

    def _done(self, action: str, target: Product) -> str:
        if action == "hide":
            return _("“%(name)s” is hidden from the public.", name=target.name)
        return _("“%(name)s” is back to “%(state)s”.", name=target.name, state=label(target.status, "product"))

    hide = moderation_action("hide", "admin_product_hide")
    unhide = moderation_action("unhide", "admin_product_unhide")
