"""The stock ledger pages: ``/admin/products/{id}/stock`` for administrators and
``/seller/products/{id}/stock`` for the seller who owns the product (another seller gets 404), and
each one's CSV download (``…/stock/export.csv``)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import ServerSentEvent, Stream, Template

from app.accounts.guards import provide_member, requires_seller
from app.catalog.lifecycle import LABELS
from app.core.i18n import _
from app.drops.ledger import StockLedgerService, ledger_export
from app.drops.ledger_live import ledger_stream
from app.models.members import Member
from app.web.csv_export import csv_download
from app.web.pages import AdminPages, with_db
from app.web.pagination import wanted
from app.web.params import AppServices, Query, SignedIn
from app.web.services import Services
from app.web.templating import page as render

Ledgers = NamedDependency[StockLedgerService]


async def _ledger_page(
    request: HTMXRequest,
    ledgers: StockLedgerService,
    product_id: int,
    page: str | None,
    *,
    back: tuple[str, str],
    seller: Member | None = None,
) -> Template:
    product = await ledgers.product(product_id, seller=seller)
    ledger = await ledgers.ledger(product, *wanted(request, page))
    context = {"ledger": ledger, "p": product, "page": ledger.lines, "labels": LABELS, "back": back}
    context["export_base"] = request.url.path.rstrip("/")
    context["events_url"] = f"{request.url.path}/events"
    return render(request, "drops/stock_ledger.html", context)


async def _ledger_download(
    ledgers: StockLedgerService, services: Services, product_id: int, seller: Member | None = None
) -> Stream:
    product = await ledgers.product(product_id, seller=seller)  # another seller's: not found
    return csv_download(services.database, ledger_export(product))


async def _live_ledger(
    request: HTMXRequest, services: AppServices, ledgers: StockLedgerService, product_id: int, seller: Member | None
) -> ServerSentEvent:
    """The ledger's first page, live (a product that is not there, or not the seller's: 404)."""
    await ledgers.product(product_id, seller=seller)
    env = request.app.template_engine.engine  # type: ignore[union-attr]
    size = services.settings.page_size
    return services.streams.events(ledger_stream(services.database, services.streams, env, product_id, size, seller))


class AdminStockLedgerController(AdminPages):
    path = "/admin/products"
    dependencies = {"ledgers": with_db(StockLedgerService)}

    @get("/{product_id:int}/stock", name="admin_product_stock")
    async def stock(
        self, request: HTMXRequest, product_id: FromPath[int], ledgers: Ledgers, page: Query = None
    ) -> Template:
        return await _ledger_page(
            request, ledgers, product_id, page, back=(f"/admin/products/{product_id}", _("Product"))
        )

    @get("/{product_id:int}/stock/export.csv", name="admin_product_stock_export")
    async def export(self, product_id: FromPath[int], ledgers: Ledgers, services: AppServices) -> Stream:
        return await _ledger_download(ledgers, services, product_id)

    @get("/{product_id:int}/stock/events", name="admin_product_stock_events")
    async def events(
        self, request: HTMXRequest, product_id: FromPath[int], ledgers: Ledgers, services: AppServices
    ) -> ServerSentEvent:
        return await _live_ledger(request, services, ledgers, product_id, None)


class SellerStockLedgerController(Controller):
    path = "/seller/products"
    guards = [requires_seller]
    dependencies = {"ledgers": with_db(StockLedgerService), "member": Provide(provide_member)}

    @get("/{product_id:int}/stock", name="seller_product_stock")
    async def stock(
        self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, ledgers: Ledgers, page: Query = None
    ) -> Template:
        return await _ledger_page(
            request, ledgers, product_id, page, seller=member, back=("/seller/products", _("My products"))
        )

    @get("/{product_id:int}/stock/export.csv", name="seller_product_stock_export")
    async def export(
        self, product_id: FromPath[int], member: SignedIn, ledgers: Ledgers, services: AppServices
    ) -> Stream:
        return await _ledger_download(ledgers, services, product_id, member)

    @get("/{product_id:int}/stock/events", name="seller_product_stock_events")
    async def events(
        self,
        request: HTMXRequest,
        product_id: FromPath[int],
        member: SignedIn,
        ledgers: Ledgers,
        services: AppServices,
    ) -> ServerSentEvent:
        return await _live_ledger(request, services, ledgers, product_id, member)
