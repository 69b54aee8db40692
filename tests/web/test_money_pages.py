"""Orders pages, refund form, admin payments and policies, seller settlements: through HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.payments import Policy
from app.payments.settlement import settle_payment
from tests.helpers.orders import granted_right, paid_order
from tests.helpers.web import field_error, login, post_form


async def test_orders_list_detail_and_another_members_order(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    owner = await members.get(order.member_id)
    await login(client, owner.email)
    listing = await client.get("/orders")
    assert listing.status_code == 200 and f"/orders/{order.id}" in listing.text and "Paid" in listing.text
    detail = await client.get(f"/orders/{order.id}")
    assert detail.status_code == 200
    for text in ("Awaiting payment", "Timeline", f"#{payment.id}", "₩10,000", "Request a refund"):
        assert text in detail.text
    other = await members.create()
    await login(client, other.email)
    assert (await client.get(f"/orders/{order.id}")).status_code == 404
    assert (await client.get("/orders/999999")).status_code == 404
    empty = await client.get("/orders")
    assert "No orders yet" in empty.text


async def test_pay_now_on_a_right_opens_its_order(client, app, members, products):
    _, member, right_id = await granted_right(app, members, products)
    await login(client, member.email)
    r = await client.get(f"/me/purchases/{right_id}/pay")
    assert r.status_code == 303 and r.headers["location"].startswith("/orders/")
    page = await client.get(r.headers["location"])
    assert 'id="pay-button"' in page.text and "Pay ₩10,000" in page.text
    other = await members.create()
    await login(client, other.email)
    assert (await client.get(f"/me/purchases/{right_id}/pay")).status_code == 404


async def test_refund_form_errors_stay_next_to_their_fields_and_change_nothing(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    owner = await members.get(order.member_id)
    await login(client, owner.email)
    form = await client.get(f"/orders/{order.id}/refund")
    assert form.status_code == 200 and "100%" in form.text
    cases = [
        ({"quantity": "2", "amount": "", "reason": "x"}, "quantity", "between 1 and 1"),
        ({"quantity": "0", "amount": "10001", "reason": "x"}, "amount", "At most ₩10,000"),
        ({"quantity": "one", "amount": "", "reason": "x"}, "quantity", "whole number"),
        ({"quantity": "0", "amount": "12.5", "reason": "x"}, "amount", "whole won"),
        ({"quantity": "²", "amount": "", "reason": "x"}, "quantity", "whole number"),
        ({"quantity": "١", "amount": "", "reason": "x"}, "quantity", "whole number"),
        ({"quantity": "１", "amount": "", "reason": "x"}, "quantity", "whole number"),
        ({"quantity": "0", "amount": "2²", "reason": "x"}, "amount", "whole won"),
        ({"quantity": "0", "amount": "٢٥٠٠", "reason": "x"}, "amount", "whole won"),
        ({"quantity": "1", "amount": "", "reason": ""}, "reason", "why"),
    ]
    for data, name, text in cases:
        r = await post_form(client, f"/orders/{order.id}/refund", data)
        assert r.status_code == 422, data
        assert text in field_error(r.text, name), (data, field_error(r.text, name))
    async with app.state.database.transaction() as db:
        from app.models.payments import Payment, Refund

        assert await db.scalar(select(func.count()).select_from(Refund)) == 0
        assert (await db.get(Payment, payment.id)).refund_reserved == 0
    ok = await post_form(client, f"/orders/{order.id}/refund", {"quantity": "0", "amount": "2500", "reason": "dented"})
    assert ok.status_code == 303
    detail = await client.get(f"/orders/{order.id}")
    assert "Your request for ₩2,500 was sent to the seller" in detail.text and "dented" in detail.text


async def test_admin_payment_trail_and_policies(client, app, members, products):
    _order, payment = await paid_order(app, members, products)
    shopper = await members.create()
    await login(client, shopper.email)
    for path in ("/admin/payments", f"/admin/payments/{payment.id}", "/admin/policies"):
        assert (await client.get(path)).status_code == 403
    admin = await members.admin()
    await login(client, admin.email)
    listing = await client.get("/admin/payments?status=done")
    assert listing.status_code == 200 and f"/admin/payments/{payment.id}" in listing.text
    detail = await client.get(f"/admin/payments/{payment.id}")
    assert detail.status_code == 200
    for text in (
        "in_progress → done",
        "Audit trail",
        payment.gateway_order_id,
        "10.0%",
    ):
        assert text in detail.text
    assert (await client.get("/admin/payments/999999")).status_code == 404

    bad = await post_form(client, "/admin/policies", {"fee_percent": "150", "hours_0": "24", "percent_0": "120"})
    assert bad.status_code == 422
    assert "between 0 and 100" in field_error(bad.text, "fee_percent")
    assert "between 0 and 100" in field_error(bad.text, "tier_0")
    async with app.state.database.transaction() as db:
        before = await db.scalar(select(func.count()).select_from(Policy))
    good = await post_form(
        client,
        "/admin/policies",
        {"fee_percent": "7.5", "hours_0": "48", "percent_0": "80", "hours_1": "12", "percent_1": "100", "note": "Sale"},
    )
    assert good.status_code == 303
    async with app.state.database.transaction() as db:
        newest = (await db.execute(select(Policy).order_by(Policy.id.desc()).limit(1))).scalar_one()
        assert await db.scalar(select(func.count()).select_from(Policy)) == before + 1
        assert newest.fee_basis_points == 750 and newest.refund_tiers == [[12, 100], [48, 80]]
    page = await client.get("/admin/policies")
    assert "(in force)" in page.text and "7.5%" in page.text


async def test_seller_settlements_show_entries_and_balance(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    async with app.state.database.transaction() as db:
        await settle_payment(db, payment.id)
    seller = await members.get(order.seller_id)
    await login(client, seller.email)
    r = await client.get("/seller/settlements")
    assert r.status_code == 200 and "₩9,000" in r.text and "Sale" in r.text
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/seller/settlements")).status_code == 403


async def test_the_cancellation_policy_limits_giving_up_an_unpaid_right(client, app, members, products):
    from datetime import timedelta

    from sqlalchemy import update

    from app.models.base import utcnow
    from app.models.drops import PurchaseRight, RightStatus

    admin = await members.admin()
    await login(client, admin.email)
    bad = await post_form(
        client, "/admin/policies", {"fee_percent": "10", "hours_0": "24", "percent_0": "100", "cancel_minutes": "x"}
    )
    assert bad.status_code == 422 and "minutes" in field_error(bad.text, "cancel_minutes")
    ok = await post_form(
        client, "/admin/policies", {"fee_percent": "10", "hours_0": "24", "percent_0": "100", "cancel_minutes": "30"}
    )
    assert ok.status_code == 303
    assert "30 min before the deadline" in (await client.get("/admin/policies")).text

    _, member, right_id = await granted_right(app, members, products)
    async with app.state.database.transaction() as db:  # ten minutes left to pay
        await db.execute(
            update(PurchaseRight)
            .where(PurchaseRight.id == right_id)
            .values(expires_at=utcnow() + timedelta(minutes=10))
        )
    await login(client, member.email)
    r = await post_form(client, f"/me/purchases/{right_id}/cancel")
    assert r.status_code == 303
    assert "until 30 minutes before" in (await client.get("/me/purchases")).text
    async with app.state.database.transaction() as db:
        assert (await db.get(PurchaseRight, right_id)).status is RightStatus.HELD
