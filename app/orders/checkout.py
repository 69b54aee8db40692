"""Paying an order and asking for a refund, as the order pages do them: start a checkout, take
the gateway's answer (success or fail URL), reserve a refund, find the order of a purchase right.
Through the request's session they flush, never commit; the live page of a product whose unit
came back is refreshed after the commit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.queries import product_names
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.numbers import parse_whole
from app.drops.purchases import member_right
from app.gateway.errors import user_message_for
from app.live.hub import touch_after_commit, touch_kind
from app.models.drops import PurchaseRight
from app.models.orders import Order
from app.models.payments import Refund
from app.orders.service import member_order, order_for_right
from app.payments.audit import ExchangeLog
from app.payments.refund_requests import request_money
from app.payments.refunds import request_refund
from app.payments.service import (
    ConfirmOutcome,
    PaymentFlow,
    checkout_url,
    fail_checkout,
    owned_payment,
    start_payment,
)
from app.settings import Settings
from app.web.services import Services
from app.web.templating import format_won

CONFIRM_MEMORY_SECONDS = 600
_GATEWAY_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,79}")


async def start(db: AsyncSession, settings: Settings, order_id: int, member_id: int, site: str) -> str:
    """A new payment for the member's order, and the gateway checkout URL to send them to.
    Raises ``NotPayable`` when the order cannot be paid any more."""
    order = await member_order(db, order_id, member_id)
    payment = await start_payment(db, order)
    name = (await product_names(db, [order.product_id])).get(order.product_id) or _("Smore order")
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
        whole = parse_whole(amount)
        if not key or not gateway_order or whole is None or len(key) > 200 or len(gateway_order) > 64:
            raise DomainError(_("The payment gateway sent an incomplete answer. Nothing was charged."))
        return cls(key, gateway_order, whole)


async def confirm(
    services: Services, answers: Store, order_id: int, member_id: int, answer: GatewayAnswer
) -> ConfirmOutcome:
    """Confirm the payment at the gateway (its own short transactions, no request session). A
    replay of a confirm already answered is answered from ``answers`` (a short-lived store), kept
    per member and payment and read only once the payment is known to be the member's: another
    member's replay is "not found" and never reads or writes the owner's answer."""
    async with services.database.transaction() as db:
        payment, _order = await owned_payment(db, order_id, member_id, answer.gateway_order_id)
    remembered = f"{member_id}:{payment.id}"
    cached = await answers.get(remembered)
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
        await answers.set(remembered, f"{outcome.state}|{outcome.message}", expires_in=CONFIRM_MEMORY_SECONDS)
    if outcome.right_released is not None:  # the flow has committed: a unit came back on sale
        touch_kind("product", outcome.right_released[0])
    return outcome


async def fail(db: AsyncSession, order_id: int, member_id: int, params: Mapping[str, str]) -> ConfirmOutcome:
    """The gateway sent the shopper to the fail URL. Anyone can write a URL: its ``message`` is
    never shown or kept; the shopper reads the shop's own sentence for the gateway's code (a
    generic one for a code the shop does not know)."""
    order = await member_order(db, order_id, member_id)
    raw_code = params.get("code") or "PAY_PROCESS_CANCELED"
    code = raw_code if _GATEWAY_CODE.fullmatch(raw_code) else "UNKNOWN_ERROR"
    message = user_message_for(code)
    gateway_order = params.get("orderId") or ""
    if not gateway_order:
        return ConfirmOutcome("failed", message, order.id)
    outcome = await fail_checkout(db, order, gateway_order, code, message)
    if outcome.right_released is not None:
        touch_after_commit(db, "product", outcome.right_released[0])
    return outcome


@dataclass(frozen=True)
class RefundAsk:
    """What the refund form asks for: units to return (their amount follows the policy), or an
    amount without returning a unit (a request for the seller)."""

    quantity: int
    amount: int | None
    reason: str

    @property
    def money_only(self) -> bool:
        return self.quantity == 0


def _whole(raw: str) -> int | None:
    """Whole number in ASCII digits (``²`` and other Unicode digits are refused)."""
    return parse_whole(raw.strip().replace(",", ""), high=10**12 - 1)


def read_refund_form(form: Mapping[str, str]) -> tuple[RefundAsk | None, dict[str, str]]:
    """The ask, or the errors by field (each next to its field on the form)."""
    errors: dict[str, str] = {}
    quantity = _whole(form.get("quantity", "") or "0")
    if quantity is None:
        errors["quantity"] = _("Enter a whole number of units.")
    raw_amount = form.get("amount", "")
    amount = _whole(raw_amount) if raw_amount else None
    if raw_amount and amount is None:
        errors["amount"] = _("Enter the amount in whole won, e.g. 12000.")
    if quantity and raw_amount and "amount" not in errors:
        errors["amount"] = _(
            "Returned units are refunded what the refund policy gives for them: leave the amount empty, "
            "or ask for money back without returning units."
        )
    if quantity == 0 and not raw_amount:
        errors["quantity"] = _("Choose the units to return, or ask for an amount without returning units.")
    reason = form.get("reason", "")
    if len(reason) > 300:
        errors["reason"] = _("At most 300 characters.")
    if errors:
        return None, errors
    assert quantity is not None
    return RefundAsk(quantity, amount, reason), {}


async def refund(db: AsyncSession, order: Order, ask: RefundAsk, actor_id: int) -> Refund:
    """Reserve the refund of returned units, or send a request for money only to the seller. A
    refusal (``RefundRefused``) is answered with the form again (422), which rolls the request's
    transaction back. No savepoint: on SQLite its reads would pin a snapshot that the first write
    (the payment's lock) could then not upgrade while another process writes; without one, that
    write begins the transaction and waits its turn."""
    if ask.money_only:
        assert ask.amount is not None
        return await request_money(db, order, amount=ask.amount, reason=ask.reason, actor_id=actor_id)
    return await request_refund(db, order, quantity=ask.quantity, reason=ask.reason, actor_id=actor_id)


def refund_message(refund: Refund) -> str:
    """What the shopper is told once the refund is asked for."""
    if refund.quantity == 0:
        return _(
            "Your request for %(amount)s was sent to the seller. Their decision will show here.",
            amount=format_won(refund.amount),
        )
    return ngettext(
        "Refund of %(amount)s for %(num)d unit requested. It usually completes within a minute.",
        "Refund of %(amount)s for %(num)d units requested. It usually completes within a minute.",
        refund.quantity,
        amount=format_won(refund.amount),
    )


async def order_of_right(db: AsyncSession, member_id: int, right_id: int) -> tuple[Order | None, PurchaseRight]:
    """The order of the member's purchase right (made on the spot if the event has not yet), or
    ``None`` when there is nothing to pay; anyone else's right is "not found"."""
    right = await member_right(db, member_id, right_id)
    return await order_for_right(db, right_id), right
