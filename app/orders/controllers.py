"""The member's orders: list, detail with its timeline, paying through the gateway's checkout,
the gateway's success and fail URLs, and refund requests. Another member's order is a 404."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_login
from app.core.errors import DomainError
from app.live import hub
from app.models.catalog import Product
from app.models.members import Member
from app.models.orders import Order
from app.models.payments import Payment
from app.orders.rules import LABELS, PAYABLE
from app.orders.service import member_order, order_for_right, timeline
from app.payments.audit import ExchangeLog
from app.payments.refunds import refund_view, refunds_of, request_refund
from app.payments.rules import RefundRefused
from app.payments.service import ConfirmOutcome, NotPayable, PaymentFlow, checkout_url, fail_checkout, start_payment
from app.web.forms import read_form
from app.web.pagination import paginate_request
from app.web.templating import page as render


def gateway_client(request: HTMXRequest, exchanges: ExchangeLog) -> Any:
    from app.gateway.client import make_gateway_client

    transport = getattr(request.app.state, "gateway_transport", None)
    return make_gateway_client(request.app.state.settings, transport=transport, on_exchange=exchanges)


async def after_outcome(request: HTMXRequest, outcome: ConfirmOutcome) -> Redirect:
    """Tell the member, refresh the product's live page if a unit came back, and go to the order."""
    if outcome.right_released is not None:
        product_id, _ = outcome.right_released
        hub.touch(product_id)
    kind = {"paid": "success", "pending": "info"}.get(outcome.state, "error")
    flash(request, outcome.message, kind)
    return Redirect(f"/orders/{outcome.order_id}", status_code=303)


class OrderController(Controller):
    path = "/orders"
    guards = [requires_login]
    dependencies = {"member": Provide(provide_member)}

    @get("/", name="my_orders")
    async def index(
        self,
        request: HTMXRequest,
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
        page: FromQuery[str | None] = None,
    ) -> Template:
        stmt = select(Order).where(Order.member_id == member.id).order_by(Order.id.desc())
        orders = await paginate_request(request, db, stmt, page)
        names = await _product_names(db, [o.product_id for o in orders.items])
        return render(request, "orders/index.html", {"page": orders, "names": names, "labels": LABELS})

    @get("/{order_id:int}", name="my_order")
    async def detail(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Template:
        order = await member_order(db, order_id, member.id)
        return render(request, "orders/detail.html", await _detail_context(db, order))

    @post("/{order_id:int}/pay", name="order_pay")
    async def pay(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Redirect:
        await read_form(request)
        order = await member_order(db, order_id, member.id)
        try:
            payment = await start_payment(db, order)
        except NotPayable as exc:
            flash(request, exc.message, "error")
            return Redirect(f"/orders/{order.id}", status_code=303)
        settings = request.app.state.settings
        name = (await _product_names(db, [order.product_id])).get(order.product_id, "Smore order")
        site = str(request.base_url).rstrip("/")
        url = checkout_url(settings.gateway_base_url, settings.payment_client_key, payment, name, site)
        return Redirect(url, status_code=303)

    @get("/{order_id:int}/pay/success", name="order_pay_success")
    async def success(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
    ) -> Redirect:
        params = request.query_params
        key, gateway_order, raw_amount = (
            params.get("paymentKey", ""),
            params.get("orderId", ""),
            params.get("amount", ""),
        )
        if not key or not gateway_order or not raw_amount.isdigit() or len(key) > 200 or len(gateway_order) > 64:
            raise DomainError("The payment gateway sent an incomplete answer. Nothing was charged.")
        cache = request.app.stores.get("payment-confirms")
        cached = await cache.get(key)
        if cached is not None:  # a replay of a confirm already answered (short-lived cache)
            state, message = cached.decode().split("|", 1)
            return await after_outcome(request, ConfirmOutcome(state, message, order_id))
        exchanges = ExchangeLog()
        client = gateway_client(request, exchanges)
        try:
            outcome = await PaymentFlow(request.app.state.database, client, exchanges).confirm(
                order_id=order_id,
                member_id=member.id,
                payment_key=key,
                gateway_order_id=gateway_order,
                amount=int(raw_amount),
            )
        finally:
            await client.aclose()
        if outcome.state != "pending":
            await cache.set(key, f"{outcome.state}|{outcome.message}", expires_in=600)
        return await after_outcome(request, outcome)

    @get("/{order_id:int}/pay/fail", name="order_pay_fail")
    async def fail(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Redirect:
        order = await member_order(db, order_id, member.id)
        params = request.query_params
        code = (params.get("code") or "PAY_PROCESS_CANCELED")[:80]
        message = (params.get("message") or "The payment was cancelled.")[:300]
        gateway_order = params.get("orderId") or ""
        if not gateway_order:
            flash(request, message, "error")
            return Redirect(f"/orders/{order.id}", status_code=303)
        outcome = await fail_checkout(db, order, gateway_order, code, message)
        return await after_outcome(request, outcome)

    @get("/{order_id:int}/refund", name="order_refund_form")
    async def refund_form(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Template:
        order = await member_order(db, order_id, member.id)
        return await _refund_page(request, db, order, {"quantity": str(order.quantity - order.refunded_quantity)}, {})

    @post("/{order_id:int}/refund", name="order_refund")
    async def refund(
        self,
        request: HTMXRequest,
        order_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        form = await read_form(request)
        order = await member_order(db, order_id, member.id)
        errors: dict[str, str] = {}
        quantity, amount = _whole(form.get("quantity", "0") or "0"), form.get("amount", "")
        if quantity is None:
            errors["quantity"] = "Enter a whole number of units."
        parsed_amount = _whole(amount.replace(",", "")) if amount else None
        if amount and parsed_amount is None:
            errors["amount"] = "Enter the amount in whole won, e.g. 12000."
        if len(form.get("reason", "")) > 300:
            errors["reason"] = "At most 300 characters."
        if not errors:
            try:
                async with db.begin_nested():  # a refusal undoes whatever the attempt wrote
                    refund = await request_refund(
                        db,
                        order,
                        quantity=quantity or 0,
                        amount=parsed_amount,
                        reason=form.get("reason", ""),
                        actor_id=member.id,
                    )
            except RefundRefused as exc:
                errors[exc.field] = exc.message
            else:
                flash(
                    request, f"Refund of ₩{refund.amount:,} requested. It usually completes within a minute.", "success"
                )
                return Redirect(f"/orders/{order.id}", status_code=303)
        return await _refund_page(request, db, order, form, errors, status_code=422)


class PurchasePayController(Controller):
    """ "Pay now" on a purchase right: its order (made on the spot if the event has not yet)."""

    path = "/me/purchases"
    guards = [requires_login]
    dependencies = {"member": Provide(provide_member)}

    @get("/{right_id:int}/pay", name="purchase_pay")
    async def pay(
        self,
        request: HTMXRequest,
        right_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Redirect:
        from app.models.drops import PurchaseRight

        right = await db.get(PurchaseRight, right_id)
        if right is None or right.member_id != member.id:
            raise NotFoundException("This purchase right does not exist.")
        order = await order_for_right(db, right_id)
        if order is None:
            flash(request, f"This purchase right is {right.status.value}; there is nothing to pay.", "error")
            return Redirect("/me/purchases", status_code=303)
        return Redirect(f"/orders/{order.id}", status_code=303)


def _whole(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


async def _product_names(db: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict((await db.execute(select(Product.id, Product.name).where(Product.id.in_(set(ids))))).all())


async def _detail_context(db: AsyncSession, order: Order) -> dict[str, Any]:
    payments = list(
        (await db.execute(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))).scalars()
    )
    return {
        "order": order,
        "product": await db.get(Product, order.product_id),
        "changes": await timeline(db, order.id),
        "payments": payments,
        "refunds": await refunds_of(db, order.id),
        "refundable": await refund_view(db, order),
        "payable": order.status in PAYABLE,
        "labels": LABELS,
    }


async def _refund_page(
    request: HTMXRequest,
    db: AsyncSession,
    order: Order,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    context = await _detail_context(db, order)
    context.update(values=values, errors=errors)
    return render(request, "orders/refund.html", context, status_code=status_code)
