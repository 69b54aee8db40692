"""The queue of requests for money only, through HTTP: ``/seller/refunds`` holds the seller's own
orders' requests and ``/admin/refunds`` everyone's; a request is approved (the amount goes to the
gateway, the unit stays with the shopper) or rejected with a reason from its review page, once;
the shopper sees the state on the order. Other sellers and shoppers get 404 / 403."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from app.models.catalog import Product
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus, SettlementEntry
from tests.helpers.orders import ask_refund, paid_order, paid_through_checkout, settled_refund
from tests.helpers.waiting import wait_for
from tests.helpers.web import as_admin, field_error, login, post_form, second_browser


async def requested(client, app, members, products, amount: str = "4000", reason: str = "box dented"):
    """A paid order whose shopper asked for ``amount`` without returning the unit: (order, refund)."""
    order, _payment = await paid_order(app, members, products)
    await login(client, (await members.get(order.member_id)).email)
    assert (
        await ask_refund(client, order.id, {"quantity": "0", "amount": amount, "reason": reason})
    ).status_code == 303
    return order, await refund_row(app)


async def refund_row(app, refund_id: int | None = None) -> Refund:
    async with app.state.database.transaction() as db:
        if refund_id is not None:
            return await db.get(Refund, refund_id)
        return (await db.execute(select(Refund).order_by(Refund.id.desc()).limit(1))).scalar_one()


async def reserved_on(app, payment_order_id: int) -> int:
    async with app.state.database.transaction() as db:
        payment = (await db.execute(select(Payment).where(Payment.order_id == payment_order_id))).scalar_one()
        return payment.refund_reserved


async def as_seller_of(client, members, order: Order):
    seller = await members.get(order.seller_id)
    await login(client, seller.email)
    return seller


async def test_the_queues_start_empty_and_are_only_for_sellers_and_admins(client, app, members):
    seller = await members.seller()
    await login(client, seller.email)
    for show in ("", "?show=waiting", "?show=decided", "?show=nonsense&page=99"):
        r = await client.get(f"/seller/refunds{show}")
        assert r.status_code == 200 and 'id="no-refund-requests"' in r.text
    await as_admin(client, members)
    assert "No refund request is waiting" in (await client.get("/admin/refunds")).text
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/seller/refunds")).status_code == 403
    assert (await client.get("/admin/refunds")).status_code == 403


async def test_the_seller_sees_their_request_and_no_other_seller_can_touch_it(client, app, members, products):
    order, refund = await requested(client, app, members, products)
    assert (await post_form(client, f"/seller/refunds/{refund.id}/approve")).status_code == 403  # the shopper
    await as_seller_of(client, members, order)
    queue = await client.get("/seller/refunds")
    assert f'id="request-{refund.id}"' in queue.text and "₩4,000" in queue.text
    review = await client.get(f"/seller/refunds/{refund.id}")
    assert review.status_code == 200 and "box dented" in review.text and "Yes, refund ₩4,000" in review.text
    other = await members.seller()
    await login(client, other.email)
    assert 'id="no-refund-requests"' in (await client.get("/seller/refunds")).text
    assert (await client.get(f"/seller/refunds/{refund.id}")).status_code == 404
    assert (await post_form(client, f"/seller/refunds/{refund.id}/approve")).status_code == 404
    assert (await post_form(client, f"/seller/refunds/{refund.id}/reject", {"reason": "no"})).status_code == 404
    assert (await client.get("/seller/refunds/99999999")).status_code == 404
    assert (await refund_row(app, refund.id)).status is RefundStatus.REQUESTED
    assert await reserved_on(app, order.id) == 0


async def test_an_approved_request_is_refunded_once_and_the_unit_stays(client, shop, members, products):
    shopper, order_id = await paid_through_checkout(client, shop, members, products)
    r = await ask_refund(client, order_id, {"quantity": "0", "amount": "3000", "reason": "scratched"})
    assert "sent to the seller" in (await client.get(r.headers["location"])).text
    refund = await refund_row(shop)
    async with shop.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        taken = (await db.get(Product, order.product_id)).taken_quantity
    seller = await as_seller_of(client, members, order)
    done = await post_form(client, f"/seller/refunds/{refund.id}/approve")
    assert done.status_code == 303 and done.headers["location"] == "/seller/refunds"
    assert "approved: it is on its way" in (await client.get("/seller/refunds")).text
    approved = await refund_row(shop, refund.id)
    assert approved.decided_by_id == seller.id and approved.decided_at is not None
    assert (await settled_refund(shop, refund.id)).status is RefundStatus.DONE
    again = await post_form(client, f"/seller/refunds/{refund.id}/approve")
    assert again.status_code == 303 and again.headers["location"] == f"/seller/refunds/{refund.id}"
    assert "decided already" in (await client.get(again.headers["location"])).text
    decided = await client.get("/seller/refunds?show=decided")
    assert f'id="request-{refund.id}"' in decided.text and "refunded" in decided.text
    async with shop.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
        assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunded_quantity == 0
        assert payment.status is PaymentStatus.PARTIALLY_CANCELLED and payment.refunded_amount == 3_000
        assert payment.refund_reserved == 0
        assert (await db.get(Product, order.product_id)).taken_quantity == taken  # the unit stayed sold

    async def refund_entry():
        async with shop.state.database.transaction() as db:
            stmt = select(SettlementEntry.gross).where(SettlementEntry.refund_id == refund.id)
            return list((await db.execute(stmt)).scalars())

    assert await wait_for(refund_entry, 15, "the settlement entry") == [-3_000]
    await login(client, shopper.email)
    page = await client.get(f"/orders/{order_id}")
    assert f'id="refund-{refund.id}"' in page.text and "refunded" in page.text


async def test_an_admin_rejects_with_a_reason_the_shopper_reads(client, app, members, products):
    order, refund = await requested(client, app, members, products)
    await as_admin(client, members)
    assert f'id="request-{refund.id}"' in (await client.get("/admin/refunds")).text
    blank = await post_form(client, f"/admin/refunds/{refund.id}/reject", {"reason": "  "})
    assert blank.status_code == 422 and "why" in field_error(blank.text, "reason")
    long = await post_form(client, f"/admin/refunds/{refund.id}/reject", {"reason": "x" * 301})
    assert long.status_code == 422 and "300" in field_error(long.text, "reason")
    assert (await refund_row(app, refund.id)).status is RefundStatus.REQUESTED
    r = await post_form(client, f"/admin/refunds/{refund.id}/reject", {"reason": "The photo shows no damage."})
    assert r.status_code == 303
    rejected = await refund_row(app, refund.id)
    assert rejected.status is RefundStatus.REJECTED and rejected.decision_reason == "The photo shows no damage."
    assert await reserved_on(app, order.id) == 0
    assert (await post_form(client, f"/admin/refunds/{refund.id}/approve")).status_code == 303
    assert (await refund_row(app, refund.id)).status is RefundStatus.REJECTED  # decided once
    await login(client, (await members.get(order.member_id)).email)
    page = await client.get(f"/orders/{order.id}")
    assert "declined" in page.text and "The photo shows no damage." in page.text
    # decided, so the shopper may ask again
    assert (
        await ask_refund(client, order.id, {"quantity": "0", "amount": "100", "reason": "again"})
    ).status_code == 303


async def test_an_approval_that_no_longer_fits_changes_nothing(client, app, members, products):
    order, refund = await requested(client, app, members, products, amount="6000")
    r = await ask_refund(client, order.id, {"quantity": "1", "reason": "returning it"})  # takes all ₩10,000
    assert r.status_code == 303
    await as_seller_of(client, members, order)
    refused = await post_form(client, f"/seller/refunds/{refund.id}/approve")
    assert refused.status_code == 303 and refused.headers["location"] == f"/seller/refunds/{refund.id}"
    assert "Only ₩0 is left" in (await client.get(refused.headers["location"])).text
    assert (await refund_row(app, refund.id)).status is RefundStatus.REQUESTED
    assert await reserved_on(app, order.id) == 10_000  # the return's reservation alone


async def test_the_queue_is_paginated_oldest_first(client, app, members, products):
    seller_ids = set()
    for n in range(6):  # the suite's page size is 5
        order, _ = await requested(client, app, members, products, amount=str(100 + n))
        seller_ids.add(order.seller_id)
    await as_admin(client, members)
    first = await client.get("/admin/refunds")
    second = await client.get("/admin/refunds?show=waiting&page=2")
    ids = [re.findall(r'id="request-(\d+)"', page.text) for page in (first, second)]
    assert [len(i) for i in ids] == [5, 1]
    assert [int(i) for i in ids[0] + ids[1]] == sorted(int(i) for i in ids[0] + ids[1])
    assert "?show=waiting&amp;page=2" in first.text or "show=waiting&page=2" in first.text
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Refund)) == 6
    assert len(seller_ids) == 6


async def test_requests_and_decisions_racing_each_other_count_once(client, app, members, products):
    order, _payment = await paid_order(app, members, products)
    await login(client, (await members.get(order.member_id)).email)
    data = {"quantity": "0", "amount": "2000", "reason": "race"}
    asked = await asyncio.gather(*(ask_refund(client, order.id, data) for _ in range(8)))
    assert sorted(r.status_code for r in asked).count(303) == 1
    assert {r.status_code for r in asked} <= {303, 422, 503}
    refund = await refund_row(app)
    await as_seller_of(client, members, order)
    async with second_browser(client) as admin_browser:
        await login(admin_browser, (await members.admin()).email)
        decided = await asyncio.gather(
            *(post_form(client, f"/seller/refunds/{refund.id}/approve") for _ in range(3)),
            *(post_form(admin_browser, f"/admin/refunds/{refund.id}/approve") for _ in range(3)),
        )
    assert {r.status_code for r in decided} == {303}
    assert sum(r.headers["location"].endswith("/refunds") for r in decided) == 1  # one approval went through
    assert (await refund_row(app, refund.id)).status in (RefundStatus.RESERVED, RefundStatus.DONE, RefundStatus.FAILED)
    assert await reserved_on(app, order.id) in (0, 2_000)  # held once (0 once the gateway has answered)
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Refund)) == 1
