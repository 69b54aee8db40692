"""The gateway side of the money tests: the app's gateway client (web and worker) routed to its own
sandbox in-process, a payment made through the hosted checkout, the sandbox's own API called with
its test secret as anyone holding it could (a cancellation "at the gateway"), signed webhooks,
and what the shop recorded of an order's money."""

from __future__ import annotations

import base64
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from app.gateway.webhook import WEBHOOK_PATH, signed_headers, status_changed
from app.models.catalog import Product
from app.models.drops import StockEntry, StockReason
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentAudit, PaymentStatus, Refund, SettlementEntry
from app.settings import SANDBOX_SECRET_KEY
from tasks import runtime
from tests.helpers.orders import open_checkout, pay_with
from tests.helpers.waiting import wait_for

SANDBOX_API = "/sandbox-gateway/v1/payments"


@contextmanager
def in_process_gateway(app):
    """The app's gateway client, in requests and in the worker, reaches the app's own sandbox."""
    transport = httpx.ASGITransport(app=app)
    app.state.gateway_transport = transport
    runtime.set_gateway_transport(transport)
    try:
        yield app
    finally:
        runtime.set_gateway_transport(None)


@dataclass(frozen=True)
class PaidOrder:
    member: Any
    order_id: int
    product_id: int
    payment_key: str


async def pay_through_checkout(client, app, members, products, **kw) -> PaidOrder:
    """A shopper pays an order with the approving test card and comes back to the shop; returns
    once the seller's settlement has its entry (written by an event handler)."""
    member, order_id, _right_id, query = await open_checkout(client, app, members, products, **kw)
    back = await pay_with(client, query, "approve")
    assert (await client.get(back)).status_code == 303
    payment_key = parse_qs(urlsplit(back).query)["paymentKey"][0]
    await money_when(app, order_id, lambda state: state.nets, "the payment's settlement entry")
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        assert order.status is OrderStatus.PAID
        return PaidOrder(member, order_id, order.product_id, payment_key)


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{secret}:".encode()).decode()


async def cancel_at_gateway(client, payment_key: str, amount: int | None = None, reason: str = "customer called"):
    """Cancel at the gateway, outside the shop: the sandbox's API with its public test secret."""
    body: dict[str, Any] = {"cancelReason": reason} | ({"cancelAmount": amount} if amount is not None else {})
    headers = {"Authorization": _basic(SANDBOX_SECRET_KEY), "Idempotency-Key": uuid.uuid4().hex}
    r = await client.post(f"{SANDBOX_API}/{payment_key}/cancel", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def gateway_copy(client, payment_key: str) -> dict[str, Any]:
    r = await client.get(f"{SANDBOX_API}/{payment_key}", headers={"Authorization": _basic(SANDBOX_SECRET_KEY)})
    assert r.status_code == 200, r.text
    return r.json()


async def post_webhook(client, payment: dict[str, Any], secret: str, headers: dict[str, str] | None = None):
    """The gateway's PAYMENT_STATUS_CHANGED for ``payment``, signed with ``secret``."""
    body = status_changed(payment)
    return await client.post(WEBHOOK_PATH, content=body, headers=headers or signed_headers(secret, body))


@dataclass(frozen=True)
class Money:
    order: OrderStatus
    payment: PaymentStatus
    refunded: int
    refunds: list[tuple[int, int, str | None]]  # (amount, quantity, gateway key) of each done refund
    nets: list[int]
    outside_audits: int
    lookups: int
    taken: int
    refund_ledger_rows: int


async def money(app, order_id: int) -> Money:
    async with app.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
        refunds = (await db.execute(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))).scalars()
        nets = (await db.execute(select(SettlementEntry.net).where(SettlementEntry.order_id == order_id))).scalars()

        async def audits(kind: str) -> int:
            query = select(func.count()).select_from(PaymentAudit)
            return int(await db.scalar(query.where(PaymentAudit.payment_id == payment.id, PaymentAudit.kind == kind)))

        product = await db.get(Product, order.product_id)
        ledger = await db.scalar(
            select(func.count())
            .select_from(StockEntry)
            .where(StockEntry.product_id == order.product_id, StockEntry.reason == StockReason.REFUND)
        )
        return Money(
            order=order.status,
            payment=payment.status,
            refunded=payment.refunded_amount,
            refunds=[(r.amount, r.quantity, r.gateway_transaction_key) for r in refunds if r.status.value == "done"],
            nets=sorted(nets),
            outside_audits=await audits("gateway.outside"),
            lookups=await audits("gateway.lookup"),
            taken=product.taken_quantity,
            refund_ledger_rows=int(ledger or 0),
        )


async def money_when(app, order_id: int, ready, what: str) -> Money:
    """The order's money once ``ready(state)`` holds (event handlers write the settlement)."""

    async def check():
        state = await money(app, order_id)
        return state if ready(state) else None

    return await wait_for(check, 15, what)


async def sandbox_checkout(app, card: str = "approve", amount: int = 12_000) -> tuple[str, str, int]:
    """Pay in the sandbox's checkout window like a shopper: (paymentKey, orderId, amount)."""
    order_id = f"order-{uuid.uuid4().hex[:16]}"
    form = {
        "clientKey": app.state.settings.payment_client_key,
        "orderId": order_id,
        "orderName": "Limited tee and 1 more",
        "amount": str(amount),
        "successUrl": "http://shop.test/pay/success",
        "failUrl": "http://shop.test/pay/fail",
        "card": card,
        "action": "pay",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        response = await browser.post("/sandbox-gateway/checkout", data=form)
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["orderId"] == [order_id] and query["amount"] == [str(amount)]
    return query["paymentKey"][0], order_id, amount
