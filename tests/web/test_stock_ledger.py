"""The stock ledger pages: administrators see any product's ledger, a seller sees their own
products' ledgers (another seller's is not found, a shopper is not allowed); every row with its
signed change, reason, reference, actor and running balance; and a totals line that says whether
the ledger still equals the stock."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import update

from app.drops.service import Press
from app.drops.stock import release_right
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus, StockReason
from tests.helpers.drops import on_sale, service
from tests.helpers.web import login, second_browser


def key() -> str:
    return uuid.uuid4().hex


def rows(html: str) -> list[tuple[str, str, str, str, str]]:
    """(change, reason, reference, who, balance) of each ledger row on the page, top first."""
    found = []
    for row in re.findall(r'<tr class="ledger-row".*?</tr>', html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        found.append(tuple(cells[1:]))
    return found


def totals(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'<p[^>]*id="ledger-total".*?</p>', html, re.S).group(0)).strip()


async def sale_with_history(app, members, products):
    """5 units: two bought, one of those expired; the stock is 4."""
    product = await on_sale(app, members, products, fixed=5)
    buyers = [await members.create(display_name=name) for name in ("Ann Buyer", "Bo Buyer")]
    drop = service(app)
    rights = [(await drop.press(Press(product.id, b.id, key()))).right_id for b in buyers]
    async with app.state.database.transaction() as db:
        await db.execute(
            update(PurchaseRight)
            .where(PurchaseRight.id == rights[0])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert await release_right(db, rights[0], RightStatus.EXPIRED, StockReason.EXPIRY)
    return product, rights


async def test_an_admin_sees_every_row_and_the_totals(client, app, members, products):
    product, rights = await sale_with_history(app, members, products)
    await login(client, (await members.admin()).email)
    assert f'href="/admin/products/{product.id}/stock"' in (await client.get(f"/admin/products/{product.id}")).text
    r = await client.get(f"/admin/products/{product.id}/stock")
    assert r.status_code == 200
    assert rows(r.text) == [
        ("+1", "Payment deadline passed", f"Purchase right #{rights[0]}", "system", "4"),
        ("-1", "Purchase", f"Purchase right #{rights[1]}", "Bo Buyer", "3"),
        ("-1", "Purchase", f"Purchase right #{rights[0]}", "Ann Buyer", "4"),
        ("+5", "Put on sale", "", "system", "5"),
    ]
    assert "right:" not in r.text
    assert totals(r.text) == "Ledger total 4 = stock 4"
    assert (await client.get("/admin/products/999999/stock")).status_code == 404


async def test_the_seller_sees_their_own_ledger_only(client, app, members, products):
    product, _ = await sale_with_history(app, members, products)
    owner = await members.get(product.seller_id)
    await login(client, owner.email)
    assert f'href="/seller/products/{product.id}/stock"' in (await client.get("/seller/products")).text
    r = await client.get(f"/seller/products/{product.id}/stock")
    assert r.status_code == 200 and len(rows(r.text)) == 4
    assert totals(r.text) == "Ledger total 4 = stock 4"
    assert (await client.get(f"/admin/products/{product.id}/stock")).status_code == 403

    other_seller = await members.seller()
    shopper = await members.create()
    async with second_browser(client) as other, second_browser(client) as browsing, second_browser(client) as anon:
        await login(other, other_seller.email)
        assert (await other.get(f"/seller/products/{product.id}/stock")).status_code == 404
        await login(browsing, shopper.email)
        assert (await browsing.get(f"/seller/products/{product.id}/stock")).status_code == 403
        assert (await browsing.get(f"/admin/products/{product.id}/stock")).status_code == 403
        r = await anon.get(f"/seller/products/{product.id}/stock")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_long_ledgers_are_paged_newest_first(client, app, members, products):
    product = await on_sale(app, members, products, fixed=8)  # the test app shows 5 rows a page
    drop = service(app)
    for _ in range(6):
        await drop.press(Press(product.id, (await members.create()).id, key()))
    await login(client, (await members.admin()).email)
    first = (await client.get(f"/admin/products/{product.id}/stock")).text
    assert [r[4] for r in rows(first)] == ["2", "3", "4", "5", "6"]
    assert "Page 1 of 2" in first and 'rel="next"' in first
    last = (await client.get(f"/admin/products/{product.id}/stock?page=2")).text
    assert [r[4] for r in rows(last)] == ["7", "8"] and rows(last)[1] == ("+8", "Put on sale", "", "system", "8")
    assert (await client.get(f"/admin/products/{product.id}/stock?page=99")).text.count('class="ledger-row"') == 2
    assert totals(last) == "Ledger total 2 = stock 2"


async def test_a_ledger_that_disagrees_with_the_stock_is_flagged(client, app, members, products):
    product, _ = await sale_with_history(app, members, products)
    async with app.state.database.transaction() as db:  # a unit taken without its ledger row
        await db.execute(update(Product).where(Product.id == product.id).values(taken_quantity=2))
    await login(client, (await members.admin()).email)
    html = (await client.get(f"/admin/products/{product.id}/stock")).text
    assert 'data-consistent="0"' in html
    assert totals(html).startswith("Ledger total 4 ≠ stock 3.")


async def test_a_sale_that_has_not_opened_has_no_movements(client, app, members, products):
    seller = await members.seller()
    scheduled = await products.create(seller, status=ProductStatus.SCHEDULED, fixed_quantity=6)
    await login(client, seller.email)
    html = (await client.get(f"/seller/products/{scheduled.id}/stock")).text
    assert rows(html) == [] and "has not opened yet" in totals(html) and "stock 6 of 6" in totals(html)
