"""Paying an order and asking for a refund, as the order pages do them: start a checkout, take
the gateway's answer (success or fail URL), reserve a refund, find the order of a purchase right.
Through the request's session they flush, never commit; the live page of a product whose unit
came back is refreshed after the commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.queries import product_names
from app.core.errors import DomainError
from app.drops.purchases import member_right
from app.live.hub import touch_after_commit, touch_kind
from app.models.drops import PurchaseRight
from app.models.orders import Order
from app.models.payments import Refund
from app.orders.service import member_order, order_for_right
from app.payments.audit import ExchangeLog
from app.payments.refunds import request_refund
from app.payments.service import ConfirmOutcome, PaymentFlow, checkout_url, fail_checkout, start_payment
from app.settings import Settings
from app.web.services import Services

CONFIRM_MEMORY_SECONDS = 600


async def start(db: AsyncSession, settings: Settings, order_id: int, member_id: int, site: str) -> str:
    """A new payment for the member's order, and the gateway checkout URL to send them to.
    Raises ``NotPayable`` when the order cannot be paid any more."""
    order = await member_order(db, order_id, member_id)
    payment = await start_payment(db, order)
    name = (await product_names(db, [order.product_id])).get(order.product_id, "Smore order")
    return checkout_url(settings.gateway_base_url, settings.payment_client_key, payment, name, site)


@dataclass(frozen=True)
class GatewayAnswer:
    """What the gateway put on the success URL."""

    payment_key: str
    gateway_order_id: str
    amount: int

    @classmethod
    def of(cls, params: Mapping[str, str]) -> GatewayAnswer:
        key, gateway_order, amount = params.get("paymentKey", ""), params.get("orderId", ""), params.get("amount", "")
        if not key or not gateway_order or not amount.isdigit() or len(key) > 200 or len(gateway_order) > 64:
            raise DomainError("The payment gateway sent an incomplete answer. Nothing was charged.")
        return cls(key, gateway_order, int(amount))


async def confirm(
    services: Services, answers: Store, order_id: int, member_id: int, answer: GatewayAnswer
) -> ConfirmOutcome:
    """Confirm the payment at the gateway (its own short transactions, no request session). A
    replay of a confirm already answered is answered from ``answers`` (a short-lived store)."""
    cached = await answers.get(answer.payment_key)
    if cached is not None:
        state, message = cached.decode().split("|", 1)
        return ConfirmOutcome(state, message, order_id)
    exchanges = ExchangeLog()
    client = services.gateway(exchanges)
    try:
        outcome = await PaymentFlow(services.database, client, exchanges).confirm(
            order_id=order_id,
            member_id=member_id,
            payment_key=answer.payment_key,
            gateway_order_id=answer.gateway_order_id,
            amount=answer.amount,
        )
    finally:
        await client.aclose()
    if outcome.state != "pending":
        await answers.set(answer.payment_key, f"{outcome.state}|{outcome.message}", expires_in=CONFIRM_MEMORY_SECONDS)
    if outcome.right_released is not None:  # the flow has committed: a unit came back on sale
        touch_kind("product", outcome.right_released[0])
    return outcome


async def fail(db: AsyncSession, order_id: int, member_id: int, params: Mapping[str, str]) -> ConfirmOutcome:
    """The gateway sent the shopper to the fail URL."""
    order = await member_order(db, order_id, member_id)
    code = (params.get("code") or "PAY_PROCESS_CANCELED")[:80]
    message = (params.get("message") or "The payment was cancelled.")[:300]
    gateway_order = params.get("orderId") or ""
    if not gateway_order:
        return ConfirmOutcome("failed", message, order.id)
    outcome = await fail_checkout(db, order, gateway_order, code, message)
    if outcome.right_released is not None:
        touch_after_commit(db, "product", outcome.right_released[0])
    return outcome


async def refund(
    db: AsyncSession, order: Order, *, quantity: int, amount: int | None, reason: str, actor_id: int
) -> Refund:
    """Reserve a refund; a refusal (``RefundRefused``) undoes whatever the attempt wrote."""
    async with db.begin_nested():
        return await request_refund(db, order, quantity=quantity, amount=amount, reason=reason, actor_id=actor_id)


async def order_of_right(db: AsyncSession, member_id: int, right_id: int) -> tuple[Order | None, PurchaseRight]:
    """The order of the member's purchase right (made on the spot if the event has not yet), or
    ``None`` when there is nothing to pay; anyone else's right is "not found"."""
    right = await member_right(db, member_id, right_id)
    return await order_for_right(db, right_id), right
