"""The stock ledger pages: ``/admin/products/{id}/stock`` for administrators and
``/seller/products/{id}/stock`` for the seller who owns the product (another seller gets 404), and
each one's CSV download (``…/stock/export.csv``)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Stream, Template

from app.accounts.guards import provide_member, requires_seller
from app.catalog.lifecycle import LABELS
from app.core.i18n import _
from app.drops.ledger import StockLedgerService, ledger_export
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
    return render(request, "drops/stock_ledger.html", context)


async def _ledger_download(
    ledgers: StockLedgerService, services: Services, product_id: int, seller: Member | None = None
) -> Stream:
    product = await ledgers.product(product_id, seller=seller)  # another seller's: not found
    return csv_download(services.database, ledger_export(product))


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
