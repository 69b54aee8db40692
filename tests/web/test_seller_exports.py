"""The seller's CSV downloads (their orders, settlements and a product's stock ledger): a CSV file
named with the date, a byte-order mark, the column titles in the viewer's language with the zone
named, times in the viewer's zone, money in whole won, states in words, the rows of the page with
the same filters (every page of them), a shopper's text never read as a formula, and only the
seller's own rows (another seller's product is not found)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from app.drops.service import Press
from app.drops.stock import release_right
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.drops import PurchaseRight, RightStatus, StockReason
from app.models.members import Member
from app.payments.settlement import settle_payment
from tests.helpers.drops import on_sale, service
from tests.helpers.exports import assert_csv_download, csv_rows, first_column, more_orders, seller_orders
from tests.helpers.keys import key
from tests.helpers.orders import paid_order
from tests.helpers.web import login

ORDER_HEADER = [
    "Order",
    "Product",
    "Shopper",
    "Quantity",
    "Amount (KRW)",
    "State",
    "Created at (Asia/Seoul)",
    "Paid at (Asia/Seoul)",
]


def listed(html: str) -> list[str]:
    return re.findall(r'<tr id="order-(\d+)"', html)


async def set_member(app, member_id: int, **values) -> None:
    async with app.state.database.transaction() as db:
        member = await db.get(Member, member_id)
        for name, value in values.items():
            setattr(member, name, value)


async def test_the_orders_download_holds_every_page(client, app, members, products):
    world = await seller_orders(app, members, products)
    added = await more_orders(app, world, 3)
    o = world.orders
    await login(client, world.seller.email)
    page = await client.get("/seller/orders")
    assert 'href="/seller/orders/export.csv"' in page.text and 'download hx-boost="false"' in page.text
    r = await client.get("/seller/orders/export.csv")
    assert r.content.startswith(b"\xef\xbb\xbfOrder,Product,")
    rows = assert_csv_download(r, "orders")
    assert rows[0] == ORDER_HEADER
    everything = [*reversed(added), o["cancelled"], o["print_paid"], o["refunded"], o["awaiting"], o["paid_late"]]
    assert first_column(rows) == [str(i) for i in everything]  # eight: more than the page's five
    by_id = {row[0]: row for row in rows[1:]}
    late = ["Limited figure", "Ana Kim", "2", "24000", "Paid", "2026-03-10 23:30:00", "2026-03-10 23:33:00"]
    assert by_id[str(o["paid_late"])][1:] == late
    assert by_id[str(o["awaiting"])][5:] == ["Awaiting payment", "2026-03-11 00:30:00", ""]
    assert str(o["other"]) not in by_id and b"Someone else" not in r.content
    assert b"ana.shopper@example.test" not in r.content  # the shopper by display name only


async def test_the_orders_download_has_the_pages_filters(client, app, members, products):
    world = await seller_orders(app, members, products)
    await login(client, world.seller.email)
    for query in (
        "status=paid",
        f"product={world.print_id}",
        "since=2026-03-11&until=2026-03-12",
        f"status=paid&product={world.figure_id}&until=2026-03-10",
        "status=completed",
    ):
        page = await client.get(f"/seller/orders?{query}")
        link = re.search(r'href="(/seller/orders/export\.csv[^"]*)"', page.text).group(1).replace("&amp;", "&")
        rows = assert_csv_download(await client.get(link), "orders")
        assert first_column(rows) == listed(page.text), query
    assert len(csv_rows(await client.get("/seller/orders/export.csv?status=completed"))) == 1  # the header alone


async def test_the_orders_download_in_the_viewers_language_and_zone(client, app, members, products):
    world = await seller_orders(app, members, products)
    await login(client, world.seller.email)
    await set_member(app, world.seller.id, time_zone="America/New_York")
    rows = csv_rows(await client.get(f"/seller/orders/export.csv?product={world.figure_id}&until=2026-03-10"))
    assert rows[0][-2:] == ["Created at (America/New_York)", "Paid at (America/New_York)"]
    # EDT (UTC−4 since 8 March); the days are New York's too: 15:30 UTC is still the 10th there
    assert [row[-2:] for row in rows[1:]] == [
        ["2026-03-10 11:30:00", ""],
        ["2026-03-10 10:30:00", "2026-03-10 10:33:00"],
    ]
    await set_member(app, world.seller.id, time_zone="Asia/Seoul", language="ko")
    rows = csv_rows(await client.get("/seller/orders/export.csv?status=paid"))
    assert rows[0] == [
        "주문",
        "상품",
        "구매자",
        "수량",
        "금액 (원)",
        "상태",
        "생성 일시 (Asia/Seoul)",
        "결제 일시 (Asia/Seoul)",
    ]
    assert {row[5] for row in rows[1:]} == {"결제 완료"}


async def test_a_shoppers_formula_is_only_text(client, app, members, products):
    world = await seller_orders(app, members, products)
    formula = '=HYPERLINK("http://evil.test","prize")'
    await set_member(app, world.shopper.id, display_name=formula)
    async with app.state.database.transaction() as db:
        await db.execute(update(Product).where(Product.id == world.print_id).values(name="+SUM(A1:A9)"))
    await login(client, world.seller.email)
    rows = csv_rows(await client.get("/seller/orders/export.csv"))
    assert {row[2] for row in rows[1:]} == {"'" + formula}
    assert "'+SUM(A1:A9)" in {row[1] for row in rows[1:]}
    assert all(not row[1].startswith(("=", "+", "-", "@")) for row in rows[1:])


async def test_another_sellers_orders_never_appear(client, app, members, products):
    world = await seller_orders(app, members, products)
    await login(client, world.other_seller.email)
    rows = csv_rows(await client.get("/seller/orders/export.csv"))
    assert first_column(rows) == [str(world.orders["other"])]
    refused = await client.get(f"/seller/orders/export.csv?product={world.figure_id}")  # not theirs
    assert refused.status_code == 400 and "Choose one of your products" in refused.text


async def test_the_settlements_download(client, app, members, products):
    order, payment = await paid_order(app, members, products)
    other_order, other_payment = await paid_order(app, members, products)
    async with app.state.database.transaction() as db:
        await settle_payment(db, payment.id)
        await settle_payment(db, other_payment.id)
    seller = await members.get(order.seller_id)
    await login(client, seller.email)
    page = await client.get("/seller/settlements")
    assert 'href="/seller/settlements/export.csv"' in page.text
    rows = assert_csv_download(await client.get("/seller/settlements/export.csv"), "settlements")
    header = ["Entry", "When (Asia/Seoul)", "Order", "Kind", "Amount (KRW)", "Fee (KRW)", "Net (KRW)"]
    assert rows[0] == header
    assert len(rows) == 2 and rows[1][2:] == [str(order.id), "Sale", "10000", "1000", "9000"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[1][1])
    assert str(other_order.id) not in {row[2] for row in rows[1:]}
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get("/seller/settlements/export.csv")).status_code == 403


async def ledger_with_history(app, members, products):
    """Five units, two bought (by Ann and Bo), Ann's right expired: the stock is 4."""
    product = await on_sale(app, members, products, fixed=5)
    buyers = [await members.create(display_name=name) for name in ("Ann Buyer", "Bo Buyer")]
    rights = [(await service(app).press(Press(product.id, b.id, key()))).right_id for b in buyers]
    async with app.state.database.transaction() as db:
        past = utcnow() - timedelta(seconds=1)
        await db.execute(update(PurchaseRight).where(PurchaseRight.id == rights[0]).values(expires_at=past))
        assert await release_right(db, rights[0], RightStatus.EXPIRED, StockReason.EXPIRY)
    return product, rights


async def test_the_stock_ledger_download(client, app, members, products):
    product, rights = await ledger_with_history(app, members, products)
    owner = await members.get(product.seller_id)
    await login(client, owner.email)
    page = await client.get(f"/seller/products/{product.id}/stock")
    assert f'href="/seller/products/{product.id}/stock/export.csv"' in page.text
    r = await client.get(f"/seller/products/{product.id}/stock/export.csv")
    rows = assert_csv_download(r, f"stock-ledger-product-{product.id}")
    assert rows[0] == ["Entry", "When (Asia/Seoul)", "Change", "Reason", "Reference", "Who", "Balance"]
    assert [row[2:] for row in rows[1:]] == [  # the page's rows, newest first; changes as numbers
        ["1", "Payment deadline passed", f"Purchase right #{rights[0]}", "system", "4"],
        ["-1", "Purchase", f"Purchase right #{rights[1]}", "Bo Buyer", "3"],
        ["-1", "Purchase", f"Purchase right #{rights[0]}", "Ann Buyer", "4"],
        ["5", "Put on sale", "", "system", "5"],
    ]
    assert first_column(rows) == re.findall(r'<tr class="ledger-row" id="ledger-(\d+)"', page.text)
    await set_member(app, owner.id, language="ko")
    korean = csv_rows(await client.get(f"/seller/products/{product.id}/stock/export.csv"))
    assert korean[0][:3] == ["항목", "일시 (Asia/Seoul)", "변동"] and korean[-1][3] == "판매 시작"


async def test_another_sellers_ledger_is_not_found(client, app, members, products):
    product, _rights = await ledger_with_history(app, members, products)
    stranger = await members.seller()
    await login(client, stranger.email)
    for url in (f"/seller/products/{product.id}/stock/export.csv", "/seller/products/999999/stock/export.csv"):
        r = await client.get(url)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), url
    shopper = await members.create()
    await login(client, shopper.email)
    assert (await client.get(f"/seller/products/{product.id}/stock/export.csv")).status_code == 403
    assert (await client.get(f"/admin/products/{product.id}/stock/export.csv")).status_code == 403
    await login(client, (await members.admin()).email)
    rows = assert_csv_download(
        await client.get(f"/admin/products/{product.id}/stock/export.csv"), f"stock-ledger-product-{product.id}"
    )
    assert len(rows) == 5
