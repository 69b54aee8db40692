"""``/seller/products``: the seller lists products, edits them until the sale starts, publishes and
cancels them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent, Template

from app.accounts.guards import provide_member, requires_seller
from app.catalog import lifecycle, product_rules, sale_mode_rules
from app.catalog.images import Upload
from app.catalog.product_service import FROZEN, ProductService, has_started
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.members import Member
from app.sellers.live import product_list_stream, template_env
from app.web.forms import parse_positive_int
from app.web.pages import act, flash_redirect
from app.web.pagination import wanted
from app.web.params import AppServices, DbSession, SignedIn
from app.web.services import Services
from app.web.templating import page as page_

# Five pictures of 5 MB each plus the fields; other forms keep the app's default limit.
UPLOAD_BODY_LIMIT = 32 * 1024 * 1024
LIST_URL = "/seller/products"
NEW_DEFAULTS = {
    "purchase_limit": "1",
    "auction_duration_minutes": "60",
    "sale_mode": SaleMode.FIRST_COME.value,
    "draw_min_account_days": "0",
}
FORM_FIELDS = (*product_rules.FIELDS, *sale_mode_rules.FIELDS)


Listings = NamedDependency[ProductService]


async def provide_listings(db: DbSession, services: NamedDependency[Services]) -> ProductService:
    return ProductService(db, services.settings)


async def read_product_form(request: HTMXRequest, max_bytes: int) -> tuple[dict[str, str], list[Upload], list[int]]:
    """The listing fields as text, the chosen pictures (each read up to one byte past the limit, so
    an oversized one is refused without holding all of it) and the ids of pictures to remove."""
    form = await request.form()
    values = {key: value if isinstance(value := form.get(key), str) else "" for key in FORM_FIELDS}
    uploads: list[Upload] = []
    for item in form.getall("images", []):
        if isinstance(item, UploadFile):
            data = await item.read(max_bytes + 1)
            await item.close()
            if item.filename or data:
                uploads.append(Upload(item.filename or "picture", data))
    remove = [parse_positive_int(raw, 0) for raw in form.getall("remove_image", []) if isinstance(raw, str)]
    return values, uploads, [i for i in remove if i]


async def provide_owned(listings: Listings, member: SignedIn, product_id: FromPath[int]) -> Product:
    """The seller's own product of the path (another seller's is a 404)."""
    return await listings.owned(member, product_id)


OWNED = {"product": Provide(provide_owned)}


def form_values(product: Product) -> dict[str, str]:
    """A stored product as the form shows it (times in the viewer's zone)."""
    values = {
        key: "" if (value := getattr(product, key)) is None else str(value)
        for key in FORM_FIELDS
        if key not in ("sale_starts_at", "draw_ends_at")
    }
    values["sale_starts_at"] = product_rules.to_local_input(product.sale_starts_at)
    values["draw_ends_at"] = product_rules.to_local_input(product.draw_ends_at) if product.draw_ends_at else ""
    return values


def frozen_message(product: Product | None) -> str | None:
    """Why the product can no longer be edited, or None while it can."""
    if product is None or not has_started(product, utcnow()):
        return None
    if product.status is ProductStatus.CANCELLED:
        return _("This product is cancelled; it can no longer change.")
    if product.status is ProductStatus.HIDDEN:
        return _("This product is hidden by a moderator; it cannot be edited while hidden.")
    return FROZEN


class SellerProductController(Controller):
    path = LIST_URL
    guards = [requires_seller]
    dependencies = {"listings": Provide(provide_listings), "member": Provide(provide_member)}

    async def _form_page(
        self,
        request: HTMXRequest,
        listings: ProductService,
        product: Product | None,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        message: str | None = None,
        status_code: int = 200,
    ) -> Template:
        settings = listings.settings
        context = {
            "product": product,
            "values": values,
            "errors": errors or {},
            "message": message,
            "options": await listings.category_options(),
            "frozen": frozen_message(product),
            "labels": lifecycle.LABELS,
            "max_images": settings.max_images,
            "max_mb": settings.max_image_bytes // (1024 * 1024),
            "shop_rate": settings.admission_rate_per_minute,
            "line_lead": settings.waiting_room_opens_before_minutes,
        }
        return page_(request, "sellers/product_form.html", context, status_code=status_code)

    def _invalid(
        self,
        request: HTMXRequest,
        listings: ProductService,
        member: Member,
        product_id: int,
        values: dict[str, str] | None = None,
    ) -> Callable[[FormInvalid], Awaitable[Template]]:
        """The form again with the errors of a refused save (``values`` as sent, or as stored)."""

        async def again(exc: FormInvalid) -> Template:
            product = await listings.owned(member, product_id)
            shown = form_values(product) if values is None else values
            return await self._form_page(request, listings, product, shown, exc.errors, exc.message, 422)

        return again

    @get("/", name="seller_products")
    async def index(
        self,
        request: HTMXRequest,
        member: SignedIn,
        listings: Listings,
        status: FromQuery[str] = "",
        page: FromQuery[str | None] = None,
    ) -> Template:
        chosen = ProductStatus(status) if status in ProductStatus._value2member_map_ else None
        result = await listings.for_seller(member, *wanted(request, page), chosen)
        context = {
            "page": result,
            "status": chosen.value if chosen else "",
            "statuses": list(ProductStatus),
            "labels": lifecycle.LABELS,
            "is_public": lifecycle.is_public,
            "is_editable": lifecycle.is_editable,
        }
        return page_(request, "sellers/products.html", context)

    @get("/events", name="seller_products_events")
    async def events(self, request: HTMXRequest, member: SignedIn, services: AppServices) -> ServerSentEvent:
        """The state and stock of the seller's products on sale or about to be, live."""
        stream = product_list_stream(services.database, services.streams, template_env(request.app), member.id)
        return services.streams.events(stream)

    @get("/new", name="seller_product_new")
    async def new(self, request: HTMXRequest, listings: Listings) -> Template:
        return await self._form_page(request, listings, None, dict(NEW_DEFAULTS))

    @post("/", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def create(self, request: HTMXRequest, member: SignedIn, listings: Listings) -> Template | Redirect:
        values, uploads, _removed = await read_product_form(request, listings.settings.max_image_bytes)
        try:
            product = await listings.create_draft(member, values, uploads)
        except FormInvalid as exc:
            return await self._form_page(request, listings, None, values, exc.errors, exc.message, 422)
        return flash_redirect(
            request,
            _("“%(name)s” is saved as a draft. Publish it when it is ready.", name=product.name),
            "success",
            LIST_URL,
        )

    @get("/{product_id:int}/edit", name="seller_product_edit", dependencies=OWNED)
    async def edit(self, request: HTMXRequest, product: NamedDependency[Product], listings: Listings) -> Template:
        return await self._form_page(request, listings, product, form_values(product))

    @post("/{product_id:int}", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def update(
        self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, listings: Listings
    ) -> Template | Redirect:
        values, uploads, remove = await read_product_form(request, listings.settings.max_image_bytes)
        saving = listings.update(member, product_id, values, uploads, remove)
        invalid = self._invalid(request, listings, member, product_id, values)
        return await act(request, saving, lambda p: _("“%(name)s” is saved.", name=p.name), LIST_URL, invalid=invalid)

    @post("/{product_id:int}/publish", name="seller_product_publish")
    async def publish(
        self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, listings: Listings
    ) -> Template | Redirect:
        invalid = self._invalid(request, listings, member, product_id)
        return await act(
            request,
            listings.publish(member, product_id),
            lambda p: _("“%(name)s” is published; the sale opens by itself at its start time.", name=p.name),
            LIST_URL,
            invalid=invalid,
        )

    @get("/{product_id:int}/cancel", name="seller_product_cancel", dependencies=OWNED)
    async def cancel_form(self, request: HTMXRequest, product: NamedDependency[Product]) -> Template:
        context = {"product": product, "label": lifecycle.LABELS[product.status]}
        return page_(request, "sellers/product_cancel.html", context)

    @post("/{product_id:int}/cancel")
    async def cancel(
        self,
        request: HTMXRequest,
        product_id: FromPath[int],
        member: SignedIn,
        listings: Listings,
    ) -> Redirect:
        return await act(
            request, listings.cancel(member, product_id), lambda p: _("“%(name)s” is cancelled.", name=p.name), LIST_URL
        )
