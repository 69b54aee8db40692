"""``/seller``: apply to sell, and the approved seller's dashboard."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent, Template

from app.accounts.guards import provide_member, requires_login, requires_seller
from app.core.errors import DomainError, FormInvalid
from app.core.i18n import _
from app.sellers import live
from app.sellers.service import SellerService
from app.web.forms import read_form
from app.web.pages import flash_redirect, with_db
from app.web.params import AppServices, DbSession, SignedIn
from app.web.templating import page

Sellers = NamedDependency[SellerService]


class SellerController(Controller):
    path = "/seller"
    dependencies = {"sellers": with_db(SellerService), "member": Provide(provide_member)}

    @get("/", name="seller_dashboard", guards=[requires_seller])
    async def dashboard(self, request: HTMXRequest, member: SignedIn, db: DbSession) -> Template:
        return page(request, "sellers/dashboard.html", await live.page_context(db, member))

    @get("/events", name="seller_events", guards=[requires_seller])
    async def events(
        self, request: HTMXRequest, member: SignedIn, services: AppServices, layout: FromQuery[str] = ""
    ) -> ServerSentEvent:
        """The dashboard's live parts (``layout``: the live drops and auctions the page shows)."""
        env = live.template_env(request.app)
        stream = live.dashboard_stream(services.database, services.streams, env, member.id, layout)
        return services.streams.events(stream)

    @get("/apply", name="seller_apply", guards=[requires_login])
    async def apply_form(self, request: HTMXRequest, member: SignedIn, sellers: Sellers) -> Template | Redirect:
        if member.is_seller:
            return Redirect("/seller", status_code=303)
        latest = await sellers.latest_application(member)
        return page(request, "sellers/apply.html", {"latest": latest, "values": {}, "errors": {}})

    @post("/apply", guards=[requires_login])
    async def apply(self, request: HTMXRequest, member: SignedIn, sellers: Sellers) -> Template | Redirect:
        form = await read_form(request)
        try:
            await sellers.apply(
                member, form.get("business_name", ""), form.get("contact", ""), form.get("description", "")
            )
        except FormInvalid as exc:
            latest = await sellers.latest_application(member)
            context = {"latest": latest, "values": form, "errors": exc.errors, "message": exc.message}
            return page(request, "sellers/apply.html", context, status_code=422)
        except DomainError as exc:
            return flash_redirect(request, exc.message, "error", "/seller/apply")
        return flash_redirect(
            request, _("Thank you! Your application is waiting for review."), "success", "/seller/apply"
        )
