"""``/seller/orders``: the orders of the seller's products (filtered by state, product and days in
the viewer's zone, a page at a time) and ``/seller/orders/export.csv``, the same rows as a CSV."""

from __future__ import annotations

from litestar import get
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Stream, Template

from app.orders.seller_queries import orders_export, seller_filters, seller_orders_page
from app.web.csv_export import csv_download
from app.web.pages import SellerPages
from app.web.pagination import wanted
from app.web.params import AppServices, DbSession, Query, SignedIn
from app.web.templating import page as render


class SellerOrderController(SellerPages):
    path = "/seller/orders"

    @get("/", name="seller_orders")
    async def index(
        self,
        request: HTMXRequest,
        member: SignedIn,
        db: DbSession,
        status: Query = None,
        product: Query = None,
        since: Query = None,
        until: Query = None,
        page: Query = None,
    ) -> Template:
        raw = {"status": status, "product": product, "since": since, "until": until}
        return await _orders_page(request, db, member.id, raw, page)

    @get("/export.csv", name="seller_orders_export")
    async def export(
        self,
        request: HTMXRequest,
        member: SignedIn,
        db: DbSession,
        services: AppServices,
        status: Query = None,
        product: Query = None,
        since: Query = None,
        until: Query = None,
    ) -> Stream | Template:
        raw = {"status": status, "product": product, "since": since, "until": until}
        filters = await seller_filters(db, member.id, raw)
        if filters.errors:  # the page, with what was refused
            return await _orders_page(request, db, member.id, raw, None)
        return csv_download(services.database, orders_export(member.id, filters))


async def _orders_page(
    request: HTMXRequest, db: DbSession, seller_id: int, raw: dict[str, str | None], page: str | None
) -> Template:
    context = await seller_orders_page(db, seller_id, raw, *wanted(request, page))
    status = 400 if context["errors"] else 200
    return render(request, "orders/seller_orders.html", context, status_code=status)
