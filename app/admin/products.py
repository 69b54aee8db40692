"""``/admin/products``: find products, see their history, hide and unhide them with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_admin
from app.admin.product_service import STATUS_FILTERS, Filters, ProductModerationService, clean_filters
from app.catalog.lifecycle import LABELS
from app.core.errors import DomainError, FormInvalid
from app.models.members import Member
from app.web.forms import parse_positive_int, read_form
from app.web.templating import page as render


async def provide_product_moderation(db: NamedDependency[AsyncSession]) -> ProductModerationService:
    return ProductModerationService(db)


class AdminProductController(Controller):
    path = "/admin/products"
    guards = [requires_admin]
    dependencies = {"moderation": Provide(provide_product_moderation), "admin": Provide(provide_member)}

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
        size = request.app.state.settings.page_size
        listing = await moderation.search(filters, parse_positive_int(page), size)
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

    async def _moderate(
        self, request: HTMXRequest, moderation: ProductModerationService, product_id: int, admin: Member, action: str
    ) -> Template | Redirect:
        form = await read_form(request)
        reason = form.get("reason", "")
        act = moderation.hide if action == "hide" else moderation.unhide
        try:
            product = await act(product_id, admin, reason)
        except FormInvalid as exc:
            return await self._detail(
                request, moderation, product_id, 422, values={"reason": reason}, errors=exc.errors, message=exc.message
            )
        except DomainError as exc:
            flash(request, exc.message, "error")
            return Redirect(f"/admin/products/{product_id}", status_code=303)
        done = "hidden from the public" if action == "hide" else f"back to “{LABELS[product.status]}”"
        flash(request, f"“{product.name}” is {done}.", "success")
        return Redirect(f"/admin/products/{product_id}", status_code=303)

    @post("/{product_id:int}/hide", name="admin_product_hide")
    async def hide(
        self,
        request: HTMXRequest,
        product_id: FromPath[int],
        admin: NamedDependency[Member],
        moderation: NamedDependency[ProductModerationService],
    ) -> Template | Redirect:
        return await self._moderate(request, moderation, product_id, admin, "hide")

    @post("/{product_id:int}/unhide", name="admin_product_unhide")
    async def unhide(
        self,
        request: HTMXRequest,
        product_id: FromPath[int],
        admin: NamedDependency[Member],
        moderation: NamedDependency[ProductModerationService],
    ) -> Template | Redirect:
        return await self._moderate(request, moderation, product_id, admin, "unhide")
