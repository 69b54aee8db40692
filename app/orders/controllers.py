"""The member's orders: list, detail with its timeline, paying through the gateway's checkout,
the gateway's success and fail URLs, and refund requests. Another member's order is a 404."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.core.labels import label
from app.models.orders import Order
from app.orders import checkout, queries
from app.orders.checkout import GatewayAnswer
from app.orders.service import member_order
from app.payments.rules import RefundRefused
from app.payments.service import ConfirmOutcome, NotPayable
from app.web.forms import read_form
from app.web.pages import MemberPages, flash_redirect, member_list
from app.web.params import DbSession, Query, SignedIn
from app.web.services import Services
from app.web.templating import page as render


def after_outcome(request: HTMXRequest, outcome: ConfirmOutcome) -> Redirect:
    """Tell the member, and go to the order."""
    kind = {"paid": "success", "pending": "info"}.get(outcome.state, "error")
    # The outcome's sentence is the shop's own (a cached answer or a job's may be in English: its
    # translation is looked up here).
    return flash_redirect(request, _(outcome.message), kind, f"/orders/{outcome.order_id}")


class OrderController(MemberPages):
    path = "/orders"

    index = member_list("my_orders", "orders/index.html", queries.my_orders)

    @get("/{order_id:int}", name="my_order")
    async def detail(self, request: HTMXRequest, order_id: FromPath[int], member: SignedIn, db: DbSession) -> Template:
        return render(request, "orders/detail.html", await queries.order_page(db, order_id, member.id))

    @post("/{order_id:int}/pay", name="order_pay")
    async def pay(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: SignedIn,
        db: DbSession,
        services: NamedDependency[Services],
    ) -> Redirect:
        await read_form(request)
        site = str(request.base_url).rstrip("/")
        try:
            url = await checkout.start(db, services.settings, order_id, member.id, site)
        except NotPayable as exc:
            return flash_redirect(request, exc.message, "error", f"/orders/{order_id}")
        return Redirect(url, status_code=303)

    @get("/{order_id:int}/pay/success", name="order_pay_success")
    async def success(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: SignedIn,
        services: NamedDependency[Services],
    ) -> Redirect:
        answer = GatewayAnswer.of(request.query_params)
        answers = request.app.stores.get("payment-confirms")
        return after_outcome(request, await checkout.confirm(services, answers, order_id, member.id, answer))

    @get("/{order_id:int}/pay/fail", name="order_pay_fail")
    async def fail(self, request: HTMXRequest, order_id: FromPath[int], member: SignedIn, db: DbSession) -> Redirect:
        return after_outcome(request, await checkout.fail(db, order_id, member.id, request.query_params))

    @get("/{order_id:int}/refund", name="order_refund_form")
    async def refund_form(
        self, request: HTMXRequest, order_id: FromPath[int], member: SignedIn, db: DbSession, kind: Query = None
    ) -> Template:
        order = await member_order(db, order_id, member.id)
        values = {"quantity": str(order.quantity - order.refunded_quantity), "kind": _kind(kind)}
        return await _refund_page(request, db, order, values, {})

    @post("/{order_id:int}/refund", name="order_refund")
    async def refund(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: SignedIn,
        db: DbSession,
    ) -> Template | Redirect:
        form = await read_form(request)
        order = await member_order(db, order_id, member.id)
        ask, errors = checkout.read_refund_form(form)
        if ask is not None:
            try:
                refund = await checkout.refund(db, order, ask, member.id)
            except RefundRefused as exc:
                errors[exc.field] = exc.message
            else:
                return flash_redirect(request, checkout.refund_message(refund), "success", f"/orders/{order.id}")
        values = form | {"kind": _kind(form.get("kind") or ("money" if "amount" in errors else None))}
        return await _refund_page(request, db, order, values, errors, status_code=422)


class PurchasePayController(MemberPages):
    """ "Pay now" on a purchase right: its order (made on the spot if the event has not yet)."""

    path = "/me/purchases"

    @get("/{right_id:int}/pay", name="purchase_pay")
    async def pay(self, request: HTMXRequest, right_id: FromPath[int], member: SignedIn, db: DbSession) -> Redirect:
        order, right = await checkout.order_of_right(db, member.id, right_id)
        if order is None:
            message = _(
                "This purchase right is %(state)s; there is nothing to pay.", state=label(right.status, "right")
            )
            return flash_redirect(request, message, "error", "/me/purchases")
        return Redirect(f"/orders/{order.id}", status_code=303)


def _kind(raw: str | None) -> str:
    """Which refund form the page shows: returning units, or money only."""
    return "money" if raw == "money" else "units"


async def _refund_page(
    request: HTMXRequest,
    db: AsyncSession,
    order: Order,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    context = await queries.detail_context(db, order)
    context |= {"values": values, "errors": errors}
    return render(request, "orders/refund.html", context, status_code=status_code)
