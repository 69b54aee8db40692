"""``/admin``: the dashboard and seller-application review."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.guards import provide_member
from app.admin.dashboard import dashboard_counts
from app.audit import audit_trail
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.models.members import ApplicationStatus
from app.sellers.service import SellerService
from app.web.forms import read_form
from app.web.pages import AdminPages, act, with_db
from app.web.pagination import wanted
from app.web.params import DbSession, Query, SignedIn
from app.web.templating import page as page_

_STATUS_FILTERS = {
    "pending": ApplicationStatus.PENDING,
    "approved": ApplicationStatus.APPROVED,
    "rejected": ApplicationStatus.REJECTED,
    "all": None,
}

Sellers = NamedDependency[SellerService]


class AdminController(AdminPages):
    path = "/admin"
    dependencies = {"sellers": with_db(SellerService), "member": Provide(provide_member)}

    @get("/", name="admin_home")
    async def index(self, request: HTMXRequest, db: DbSession) -> Template:
        return page_(request, "admin/index.html", await dashboard_counts(db))

    @get("/sellers", name="admin_sellers")
    async def sellers(
        self, request: HTMXRequest, sellers: Sellers, status: FromQuery[str] = "pending", page: Query = None
    ) -> Template:
        key = status if status in _STATUS_FILTERS else "pending"
        result = await sellers.list_applications(_STATUS_FILTERS[key], *wanted(request, page))
        return page_(request, "admin/sellers.html", {"page": result, "status": key})

    async def _application_page(
        self,
        request: HTMXRequest,
        sellers: SellerService,
        application_id: int,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
    ) -> Template:
        application = await sellers.get(application_id)
        trail = await audit_trail(sellers.db, "seller_applications", application.id)
        context = {"a": application, "trail": trail, "errors": errors or {}, "values": values or {}}
        return page_(request, "admin/seller_application.html", context, status_code=status_code)

    @get("/sellers/{application_id:int}", name="admin_seller_application")
    async def application(self, request: HTMXRequest, sellers: Sellers, application_id: FromPath[int]) -> Template:
        return await self._application_page(request, sellers, application_id)

    @post("/sellers/{application_id:int}/approve", name="admin_seller_approve")
    async def approve(
        self, request: HTMXRequest, application_id: FromPath[int], member: SignedIn, sellers: Sellers
    ) -> Redirect:
        approving = sellers.approve(application_id, member)
        return await act(
            request, approving, lambda a: _("%(name)s is now a seller.", name=a.business_name), "/admin/sellers"
        )

    @post("/sellers/{application_id:int}/reject", name="admin_seller_reject")
    async def reject(
        self, request: HTMXRequest, application_id: FromPath[int], member: SignedIn, sellers: Sellers
    ) -> Template | Redirect:
        reason = (await read_form(request)).get("reason", "")

        async def again(exc: FormInvalid) -> Template:
            values = {"reason": reason}
            return await self._application_page(request, sellers, application_id, 422, errors=exc.errors, values=values)

        return await act(
            request,
            sellers.reject(application_id, member, reason),
            lambda a: _("The application of %(name)s was rejected.", name=a.business_name),
            "/admin/sellers",
            invalid=again,
        )
