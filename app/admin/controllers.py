"""``/admin``: the dashboard and seller-application review."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_admin
from app.core.errors import DomainError, FormInvalid, NotFound
from app.models.members import ApplicationStatus, Member, MemberStatus, SellerApplication
from app.sellers.service import SellerService
from app.web.forms import parse_positive_int, read_form
from app.web.templating import page

_STATUS_FILTERS = {
    "pending": ApplicationStatus.PENDING,
    "approved": ApplicationStatus.APPROVED,
    "rejected": ApplicationStatus.REJECTED,
    "all": None,
}


async def provide_sellers(db: NamedDependency[AsyncSession]) -> SellerService:
    return SellerService(db)


class AdminController(Controller):
    path = "/admin"
    guards = [requires_admin]
    dependencies = {"sellers": Provide(provide_sellers), "member": Provide(provide_member)}

    @get("/", name="admin_home")
    async def index(self, request: HTMXRequest, db: NamedDependency[AsyncSession]) -> Template:
        pending = (
            await db.execute(select(func.count()).where(SellerApplication.status == ApplicationStatus.PENDING))
        ).scalar_one()
        suspended = (await db.execute(select(func.count()).where(Member.status == MemberStatus.SUSPENDED))).scalar_one()
        members = (await db.execute(select(func.count(Member.id)))).scalar_one()
        return page(request, "admin/index.html", {"pending": pending, "suspended": suspended, "members": members})

    async def _sellers_page(
        self,
        request: HTMXRequest,
        sellers: NamedDependency[SellerService],
        status: str,
        page_no: int,
        status_code: int = 200,
        errors: dict[int, str] | None = None,
        reasons: dict[int, str] | None = None,
    ) -> Template:
        key = status if status in _STATUS_FILTERS else "pending"
        result = await sellers.list_applications(_STATUS_FILTERS[key], page_no, request.app.state.settings.page_size)
        context = {"page": result, "status": key, "errors": errors or {}, "reasons": reasons or {}}
        return page(request, "admin/sellers.html", context, status_code=status_code)

    @get("/sellers", name="admin_sellers")
    async def sellers(
        self,
        request: HTMXRequest,
        sellers: NamedDependency[SellerService],
        status: FromQuery[str] = "pending",
        page: FromQuery[str | None] = None,
    ) -> Template:
        return await self._sellers_page(request, sellers, status, parse_positive_int(page))

    @post("/sellers/{application_id:int}/approve", name="admin_seller_approve")
    async def approve(
        self,
        request: HTMXRequest,
        application_id: FromPath[int],
        member: NamedDependency[Member],
        sellers: NamedDependency[SellerService],
    ) -> Redirect:
        try:
            application = await sellers.approve(application_id, member)
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
        except DomainError as exc:
            flash(request, exc.message, "error")
            return Redirect("/admin/sellers", status_code=303)
        flash(request, f"{application.business_name} is now a seller.", "success")
        return Redirect("/admin/sellers", status_code=303)

    @post("/sellers/{application_id:int}/reject", name="admin_seller_reject")
    async def reject(
        self,
        request: HTMXRequest,
        application_id: FromPath[int],
        member: NamedDependency[Member],
        sellers: NamedDependency[SellerService],
    ) -> Template | Redirect:
        form = await read_form(request)
        try:
            application = await sellers.reject(application_id, member, form.get("reason", ""))
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
        except FormInvalid as exc:
            return await self._sellers_page(
                request,
                sellers,
                "pending",
                1,
                422,
                errors={application_id: exc.errors["reason"]},
                reasons={application_id: form.get("reason", "")},
            )
        except DomainError as exc:
            flash(request, exc.message, "error")
            return Redirect("/admin/sellers", status_code=303)
        flash(request, f"The application of {application.business_name} was rejected.", "success")
        return Redirect("/admin/sellers", status_code=303)
