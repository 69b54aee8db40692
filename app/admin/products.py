"""``/admin/products``: find products, see their history, hide and unhide them with a reason."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.guards import provide_member
from app.admin.product_service import STATUS_FILTERS, Filters, ProductModerationService, clean_filters
from app.catalog.lifecycle import LABELS
from app.core.errors import DomainError, FormInvalid
from app.core.i18n import _
from app.core.labels import label
from app.models.catalog import Product
from app.web.forms import read_form
from app.web.pages import ModerationPages, flash_redirect, moderation_action, moderation_page, with_db
from app.web.pagination import wanted
from app.web.params import Query, SignedIn
from app.web.templating import page as render

Moderation = NamedDependency[ProductModerationService]
ADMIN = {"admin": Provide(provide_member)}
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
            "rate_errors": {},
            "rate_value": None,
            "shop_rate": moderation.shop_rate(),
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

    @post("/{product_id:int}/admission-rate", name="admin_product_admission_rate", dependencies=ADMIN)
    async def admission_rate(
        self, request: HTMXRequest, product_id: FromPath[int], admin: SignedIn, moderation: Moderation
    ) -> Template | Redirect:
        """A waiting room's rate, set by an administrator (blank: the shop's setting)."""
        form = await read_form(request)
        raw = form.get("admission_rate_per_minute", "")
        try:
            product = await moderation.set_admission_rate(product_id, admin, raw)
        except FormInvalid as exc:
            return await self._detail(request, moderation, product_id, 400, rate_errors=exc.errors, rate_value=raw)
        except DomainError as exc:
            return await self._detail(request, moderation, product_id, 409, rate_errors={"form": exc.message})
        done = _("“%(name)s” now lets its line in at the new rate.", name=product.name)
        return flash_redirect(request, done, "success", f"/admin/products/{product_id}")
