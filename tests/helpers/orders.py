"""Orders and payments set up through the real services (a granted right, a paid order) and the
shopper's way through the sandbox gateway's checkout over HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update

from app.drops.rules import Outcome
from app.drops.service import Press
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.orders import Order
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus
from app.orders.service import order_for_right
from app.payments.service import record_done, start_payment
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.waiting import wait_for
from tests.helpers.web import login, post_form


async def granted_right(app, members, products, *, fixed: int = 3, price: int = 10_000):
    product = await on_sale(app, members, products, fixed=fixed)
    async with app.state.database.transaction() as db:
        await db.execute(update(Product).where(Product.id == product.id).values(list_price=price))
    member = await members.create()
    result = await service(app).press(Press(product.id, member.id, key()))
    assert result.outcome is Outcome.GRANTED
    return product, member, result.right_id


async def paid_order(app, members, products, **kw) -> tuple[Order, Payment]:
    _product, _member, right_id = await granted_right(app, members, products, **kw)
    async with app.state.database.transaction() as db:
        order = await order_for_right(db, right_id)
        payment = await start_payment(db, order)
        payment.status = PaymentStatus.IN_PROGRESS  # what the confirm's claim does
        payment.payment_key = f"pk-{payment.id}"
    async with app.state.database.transaction() as db:
        outcome = await record_done(db, payment.id, method="card", approved_at=utcnow())
        assert outcome.state == "paid"
    async with app.state.database.transaction() as db:
        return await db.get(Order, order.id), await db.get(Payment, payment.id)


async def open_checkout(client, app, members, products, **kw):
    """A shopper with a purchase right goes to its order and presses Pay: the gateway's checkout."""
    _product, member, right_id = await granted_right(app, members, products, **kw)
    await login(client, member.email)
    order_url = (await client.get(f"/me/purchases/{right_id}/pay")).headers["location"]
    r = await post_form(client, f"{order_url}/pay")
    assert r.status_code == 303
    checkout = urlsplit(r.headers["location"])
    assert checkout.path == "/sandbox-gateway/checkout"
    page = await client.get(f"{checkout.path}?{checkout.query}")
    assert page.status_code == 200 and "₩10,000" in page.text
    return member, int(order_url.rsplit("/", 1)[1]), right_id, parse_qs(checkout.query)


async def pay_with(client, query: dict[str, list[str]], card: str, action: str = "pay") -> str:
    """Submit the hosted checkout; returns the URL the gateway sends the shopper back to (path+query)."""
    data = {k: v[0] for k, v in query.items()} | {"card": card, "action": action}
    r = await client.post("/sandbox-gateway/checkout", data=data)
    assert r.status_code == 303, r.text
    back = urlsplit(r.headers["location"])
    return f"{back.path}?{back.query}"


async def paid_through_checkout(client, app, members, products, **kw):
    """A shopper who bought a unit and paid it with the sandbox's approve card (a real gateway
    payment, so a refund can go through): (shopper, order id). The client stays signed in as them."""
    member, order_id, _right_id, query = await open_checkout(client, app, members, products, **kw)
    assert (await client.get(await pay_with(client, query, "approve"))).status_code == 303
    return member, order_id


async def ask_refund(client, order_id: int, data: dict[str, str]):
    """The refund form posted as the signed-in shopper."""
    return await post_form(client, f"/orders/{order_id}/refund", data)


async def settled_refund(app, refund_id: int, seconds: float = 15):
    """The refund once the worker has had the gateway's answer (done or failed)."""

    async def settled():
        async with app.state.database.transaction() as db:
            refund = await db.get(Refund, refund_id)
            return refund if refund.status in (RefundStatus.DONE, RefundStatus.FAILED) else None

    return await wait_for(settled, seconds, f"refund {refund_id} to settle")
