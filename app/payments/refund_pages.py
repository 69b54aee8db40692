"""The queue of requests for money only: ``/seller/refunds`` (the seller's own orders) and
``/admin/refunds`` (every seller's). A request is reviewed on its own page, which is the
confirmation step: approve (the amount goes back to the shopper) or reject with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template

from app.accounts.guards import provide_member
from app.core.errors import FormInvalid
from app.core.i18n import _
from app.models.members import Member
from app.models.payments import Refund
from app.payments import queries
from app.payments.exports import refund_requests_export
from app.payments.refund_requests import approve, reject
from app.web.csv_export import csv_download
from app.web.forms import read_form
from app.web.pages import AdminPages, SellerPages, act
from app.web.pagination import wanted
from app.web.params import AppServices, DbSession, Query, SignedIn
from app.web.templating import page as render


class RefundQueuePages(Controller):
    """The queue's pages; a seller's queue holds only their own orders' requests."""

    for_admin = False

    def _seller(self, member: Member) -> int | None:
        return None if self.for_admin else member.id

    @get("/")
    async def index(
        self, request: HTMXRequest, db: DbSession, member: SignedIn, show: Query = None, page: Query = None
    ) -> Template:
        context = await queries.refund_queue(db, self._seller(member), show, *wanted(request, page))
        return render(request, "payments/refund_queue.html", context | {"base": self.path})

    @get("/export.csv")
    async def export(self, member: SignedIn, services: AppServices, show: Query = None) -> Stream:
        """The part of the queue the page shows (``show``), every page of it, as a CSV download."""
        return csv_download(services.database, refund_requests_export(self._seller(member), show))

    @get("/{refund_id:int}")
    async def detail(self, request: HTMXRequest, db: DbSession, member: SignedIn, refund_id: FromPath[int]) -> Template:
        return await self._review(request, db, member, refund_id)

    @post("/{refund_id:int}/approve")
    async def approve(
        self, request: HTMXRequest, db: DbSession, member: SignedIn, refund_id: FromPath[int]
    ) -> Redirect:
        await read_form(request)
        approving = approve(db, refund_id, member, self._seller(member))
        url = f"{self.path}/{refund_id}"
        return await act(request, approving, _approved, self.path, refused_url=url)

    @post("/{refund_id:int}/reject")
    async def reject(
        self, request: HTMXRequest, db: DbSession, member: SignedIn, refund_id: FromPath[int]
    ) -> Template | Redirect:
        reason = (await read_form(request)).get("reason", "")

        async def again(exc: FormInvalid) -> Template:
            return await self._review(request, db, member, refund_id, 422, values={"reason": reason}, errors=exc.errors)

        rejecting = reject(db, refund_id, member, self._seller(member), reason)
        done = _("The request was declined; the shopper sees your reason on their order.")
        return await act(
            request, rejecting, lambda _form: done, self.path, refused_url=f"{self.path}/{refund_id}", invalid=again
        )

    async def _review(
        self, request: HTMXRequest, db: DbSession, member: Member, refund_id: int, status_code: int = 200, **form: Any
    ) -> Template:
        """The review page; ``form``: the reject form's ``values`` and ``errors`` when it is shown again."""
        context: dict[str, Any] = await queries.refund_request_page(db, refund_id, self._seller(member))
        context |= {"base": self.path, "values": {}, "errors": {}} | form
        return render(request, "payments/refund_request.html", context, status_code=status_code)


def _approved(refund: Refund) -> str:
    return _(
        "Refund #%(id)s of %(amount)s approved: it is on its way to the shopper.",
        id=refund.id,
        amount=f"₩{refund.amount:,}",
    )


class SellerRefundController(RefundQueuePages, SellerPages):
    path = "/seller/refunds"


class AdminRefundController(RefundQueuePages, AdminPages):
    path = "/admin/refunds"
    for_admin = True
    dependencies = {"member": Provide(provide_member)}
