"""The administrators' CSV downloads (payments, refund requests, members) with the filters of their
pages, and the seller's own refund requests: only administrators (a seller or shopper gets 403),
the same rows as the page, a refused search answered as the page answers it, formulas neutralised,
column titles and states in the viewer's language."""

from __future__ import annotations

import re

from app.models.members import Member, MemberRole
from app.models.orders import Order
from app.payments.refund_requests import reject, request_money
from tests.helpers.exports import assert_csv_download, csv_rows, first_column
from tests.helpers.orders import paid_order
from tests.helpers.web import login


def export_link(html: str) -> str:
    return re.search(r'href="([^"]*/export\.csv[^"]*)"', html).group(1).replace("&amp;", "&")


async def test_the_payments_download_has_the_pages_filter(client, app, members, products):
    _first_order, first = await paid_order(app, members, products)
    _second_order, second = await paid_order(app, members, products)
    await login(client, (await members.admin()).email)
    rows = assert_csv_download(await client.get("/admin/payments/export.csv"), "payments")
    header = ["Payment", "Order", "Amount (KRW)", "Refunded (KRW)", "State", "Method", "Created at (Asia/Seoul)"]
    assert rows[0] == [*header, "Approved at (Asia/Seoul)"]
    assert first_column(rows) == [str(second.id), str(first.id)]
    assert rows[1][1:6] == [str(second.order_id), "10000", "0", "Payment completed", "card"]
    for query, name in (("status=done", "payments-done"), ("status=in_progress", "payments-in-progress")):
        page = await client.get(f"/admin/payments?{query}")
        link = export_link(page.text)
        assert link == f"/admin/payments/export.csv?{query}"
        found = first_column(assert_csv_download(await client.get(link), name))
        assert found == re.findall(r'<a href="/admin/payments/(\d+)">', page.text), query
    unknown = await client.get("/admin/payments/export.csv?status=shipped%00x")
    assert unknown.status_code == 400  # a NUL in the query: refused before any page, as everywhere
    other = assert_csv_download(await client.get("/admin/payments/export.csv?status=shipped"), "payments")
    assert first_column(other) == first_column(rows)  # an unknown state filters nothing, as on the page


async def test_only_administrators_download(client, app, members, products):
    seller = await members.seller()
    await login(client, seller.email)
    for url in ("/admin/payments/export.csv", "/admin/refunds/export.csv", "/admin/members/export.csv"):
        assert (await client.get(url)).status_code == 403, url
    client.cookies.clear()
    for url in ("/admin/payments/export.csv", "/admin/members/export.csv"):
        assert (await client.get(url)).status_code in (302, 303, 401), url


async def refund_requests(app, members, products):
    """Two sellers' paid orders, each with a request for money back; the first seller's rejected."""
    first_order, _ = await paid_order(app, members, products)
    second_order, _ = await paid_order(app, members, products)
    ids = []
    async with app.state.database.transaction() as db:
        for order, reason in ((first_order, "=2+5 dented"), (second_order, "@SUM(1) scratched")):
            refund = await request_money(
                db, await db.get(Order, order.id), amount=2_000, reason=reason, actor_id=order.member_id
            )
            ids.append(refund.id)
    seller = await members.get(first_order.seller_id)
    async with app.state.database.transaction() as db:
        decider = await db.get(Member, seller.id)
        await reject(db, ids[0], decider, seller.id, "-1 the photos show no dent")
    return first_order, second_order, ids


async def test_the_refund_requests_download(client, app, members, products):
    first_order, second_order, (rejected, waiting) = await refund_requests(app, members, products)
    await login(client, (await members.admin()).email)
    page = await client.get("/admin/refunds")
    assert export_link(page.text) == "/admin/refunds/export.csv?show=waiting"
    rows = assert_csv_download(await client.get(export_link(page.text)), "refund-requests-waiting")
    assert rows[0] == [
        "Request",
        "Order",
        "Product",
        "Amount (KRW)",
        "Reason",
        "State",
        "Asked at (Asia/Seoul)",
        "Decided at (Asia/Seoul)",
        "Decision reason",
    ]
    assert first_column(rows) == [str(waiting)] == re.findall(r'<tr id="request-(\d+)"', page.text)
    assert rows[1][1:6] == [
        str(second_order.id),
        rows[1][2],
        "2000",
        "'@SUM(1) scratched",
        "waiting for the seller's decision",
    ]
    decided = assert_csv_download(await client.get("/admin/refunds/export.csv?show=decided"), "refund-requests-decided")
    assert first_column(decided) == [str(rejected)]
    assert decided[1][4:6] == ["'=2+5 dented", "declined"] and decided[1][8] == "'-1 the photos show no dent"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", decided[1][7])
    odd = assert_csv_download(await client.get("/admin/refunds/export.csv?show=everything"), "refund-requests-waiting")
    assert first_column(odd) == [str(waiting)]  # as the page: anything else shows those waiting

    seller = await members.get(first_order.seller_id)  # a seller's own queue only
    await login(client, seller.email)
    assert export_link((await client.get("/seller/refunds?show=decided")).text).endswith("?show=decided")
    own = csv_rows(await client.get("/seller/refunds/export.csv?show=decided"))
    assert first_column(own) == [str(rejected)]
    assert first_column(csv_rows(await client.get("/seller/refunds/export.csv"))) == []  # the other's waits


async def test_the_members_download_has_the_pages_search(client, app, members, products):
    admin = await members.admin("boss@example.test")
    ana = await members.create("ana@example.test", display_name="Ana Kim")
    await members.create("ben@example.test", display_name="Ben Park", role=MemberRole.SELLER)
    mallory = await members.create("mallory@example.test", display_name="Mallory")
    async with app.state.database.transaction() as db:
        (await db.get(Member, mallory.id)).display_name = "@cmd|' /C calc'!A0"
    await members.suspend(ana, "=chargebacks")
    await login(client, admin.email)
    rows = assert_csv_download(await client.get("/admin/members/export.csv"), "members")
    assert rows[0] == ["Member", "Display name", "Email", "Role", "Status", "Reason", "Joined at (Asia/Seoul)"]
    by_email = {row[2]: row for row in rows[1:]}
    assert by_email["ana@example.test"][3:6] == ["Shopper", "Suspended", "'=chargebacks"]
    assert by_email["ben@example.test"][3] == "Seller"
    assert by_email["mallory@example.test"][1] == "'@cmd|' /C calc'!A0"
    for query in ("q=example.test&status=suspended", "q=ben", "status=active", "q=nobody"):
        page = await client.get(f"/admin/members?{query}")
        link = export_link(page.text)
        found = first_column(csv_rows(await client.get(link)))
        assert found == re.findall(r'<tr id="member-(\d+)"', page.text), query
    suspended = await client.get("/admin/members/export.csv?status=suspended")
    assert_csv_download(suspended, "members-suspended")
    too_long = await client.get("/admin/members/export.csv?q=" + "x" * 201)
    assert too_long.status_code == 400 and too_long.headers["content-type"].startswith("text/html")
    assert "at most 200 characters" in too_long.text and 'id="export-csv"' not in too_long.text
    async with app.state.database.transaction() as db:
        (await db.get(Member, admin.id)).language = "ko"
    korean = csv_rows(await client.get("/admin/members/export.csv?q=ana"))
    assert korean[0][:3] == ["회원", "닉네임", "이메일"] and korean[1][4] == "정지"
