"""A drop's fairness report: ``/admin/products/{id}/fairness`` for administrators and
``/seller/products/{id}/fairness`` for the seller who owns the product (another seller gets 404)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from app.accounts.guards import provide_member, requires_seller
from app.core.i18n import _
from app.drops.fairness import FairnessService
from app.models.members import Member
from app.web.pages import AdminPages, with_db
from app.web.params import SignedIn
from app.web.templating import page

Reports = NamedDependency[FairnessService]


async def _report_page(
    request: HTMXRequest, reports: FairnessService, product_id: int, *, back: tuple[str, str], seller: Member | None
) -> Template:
    product = await reports.product(product_id, seller=seller)
    context = {"report": await reports.report(product), "p": product, "back": back}
    return page(request, "drops/fairness.html", context)


class AdminFairnessController(AdminPages):
    path = "/admin/products"
    dependencies = {"reports": with_db(FairnessService)}

    @get("/{product_id:int}/fairness", name="admin_product_fairness")
    async def report(self, request: HTMXRequest, product_id: FromPath[int], reports: Reports) -> Template:
        back = (f"/admin/products/{product_id}", _("Product"))
        return await _report_page(request, reports, product_id, back=back, seller=None)


class SellerFairnessController(Controller):
    path = "/seller/products"
    guards = [requires_seller]
    dependencies = {"reports": with_db(FairnessService), "member": Provide(provide_member)}

    @get("/{product_id:int}/fairness", name="seller_product_fairness")
    async def report(
        self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, reports: Reports
    ) -> Template:
        return await _report_page(
            request, reports, product_id, back=("/seller/products", _("My products")), seller=member
        )
