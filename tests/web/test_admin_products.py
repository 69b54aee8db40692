"""Admin product moderation through the app: list and filters, hide and unhide with a reason."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models.catalog import Product, ProductStatus, ProductStatusChange, SaleMode
from app.models.members import AuditEntry
from tests.helpers.web import as_admin, field_error, login, post_form, refusal_says, second_browser

S = ProductStatus


def listed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="product-(\d+)">', html)]


async def stored(app, product_id: int) -> Product:
    async with app.state.database.transaction() as db:
        return await db.get(Product, product_id)


async def audit_rows(app, product_id: int) -> list[tuple[int | None, str, str | None]]:
    async with app.state.database.transaction() as db:
        stmt = select(AuditEntry).where(AuditEntry.target_type == "products", AuditEntry.target_id == product_id)
        return [(e.actor_id, e.action, e.reason) for e in (await db.execute(stmt.order_by(AuditEntry.id))).scalars()]


async def test_list_filters_and_pagination(client, app, members, products):
    await as_admin(client, members)
    alice = await members.seller("alice@shop.test")
    bob = await members.seller("bob@other.test")
    toys = await products.category("toys")
    mini = await products.category("mini", parent_id=toys.id)
    shoes = await products.category("shoes")
    rabbit = await products.create(alice, category_id=mini.id, name="Moon Rabbit 100%")
    cat = await products.create(alice, category_id=toys.id, name="Lucky_Cat", status=S.DRAFT)
    sneaker = await products.create(
        bob, category_id=shoes.id, name="Rabbit Sneaker", status=S.HIDDEN, hidden_from=S.ON_SALE
    )

    async def ids(**params) -> list[int]:
        r = await client.get("/admin/products", params=params)
        assert r.status_code == 200, params
        return listed_ids(r.text)

    assert await ids() == [sneaker.id, cat.id, rabbit.id]  # newest first, every status
    assert await ids(q="RABBIT") == [sneaker.id, rabbit.id]
    assert await ids(q="100%") == [rabbit.id] and await ids(q="%") == [rabbit.id]
    assert await ids(q="n_r") == []  # "_" is literal, so "Moon Rabbit" does not match
    assert await ids(q="_") == [cat.id] and await ids(q="Y_c") == [cat.id]
    assert await ids(status="draft") == [cat.id]
    assert await ids(status="hidden") == [sneaker.id]
    assert await ids(status="bogus") == [sneaker.id, cat.id, rabbit.id]
    assert await ids(category=str(toys.id)) == [cat.id, rabbit.id]  # with its subcategories
    assert await ids(category=str(mini.id)) == [rabbit.id]
    assert await ids(category="abc") == [sneaker.id, cat.id, rabbit.id]
    assert await ids(seller="SHOP.test") == [cat.id, rabbit.id]
    assert await ids(seller="bob@", q="rabbit", status="hidden") == [sneaker.id]
    r = await client.get("/admin/products", params={"q": "x" * 201})
    assert r.status_code == 400 and "at most 200" in field_error(r.text, "q")

    many = [await products.create(bob, category_id=shoes.id, name=f"Paged {i}") for i in range(7)]
    r = await client.get("/admin/products", params={"q": "paged", "page": "2"})
    assert listed_ids(r.text) == [p.id for p in reversed(many)][5:]
    assert "Page 2 of 2 (7 in all)" in r.text and 'href="?q=paged&amp;page=1"' in r.text


async def test_hide_with_reason_removes_it_everywhere_and_the_seller_sees_why(client, app, members, products):
    admin = await as_admin(client, members)
    seller = await members.seller()
    figures = await products.category("figures")
    p = await products.create(seller, category_id=figures.id, name="Suspicious Bunny")
    async with second_browser(client) as visitor:
        assert "Suspicious Bunny" in (await visitor.get("/")).text
        r = await post_form(client, f"/admin/products/{p.id}/hide", {"reason": "Reported as counterfeit"})
        assert r.status_code == 303 and r.headers["location"] == f"/admin/products/{p.id}"
        assert "Suspicious Bunny" not in (await visitor.get("/")).text
        assert "Suspicious Bunny" not in (await visitor.get("/categories/figures")).text
        assert (await visitor.get(f"/products/{p.id}")).status_code == 404
        await login(visitor, seller.email)
        r = await visitor.get(f"/products/{p.id}")
        assert r.status_code == 200 and "Reported as counterfeit" in r.text
    row = await stored(app, p.id)
    assert (row.status, row.hidden_from, row.hidden_reason) == (S.HIDDEN, S.ON_SALE, "Reported as counterfeit")
    assert await audit_rows(app, p.id) == [(admin.id, "product.hide", "Reported as counterfeit")]
    detail = await client.get(f"/admin/products/{p.id}")
    assert "is hidden from the public" in detail.text
    assert (
        'id="product-status">Hidden<' in detail.text
        and ">Hidden</td>" in detail.text
        and "product.hide" not in detail.text
    )
    assert 'class="status-change"' in detail.text and "Root Admin" in detail.text
    assert f'action="/admin/products/{p.id}/unhide"' in detail.text


async def test_unhide_returns_to_the_previous_state(client, app, members, products):
    admin = await as_admin(client, members)
    seller = await members.seller()
    p = await products.create(seller, status=S.AUCTION_LIVE, name="Back Again")
    await post_form(client, f"/admin/products/{p.id}/hide", {"reason": "checking"})
    r = await post_form(client, f"/admin/products/{p.id}/unhide", {"reason": "genuine after all"})
    assert r.status_code == 303
    assert "back to “Live auction”" in (await client.get(r.headers["location"])).text
    row = await stored(app, p.id)
    assert (row.status, row.hidden_from) == (S.AUCTION_LIVE, None)
    async with second_browser(client) as visitor:
        assert (await visitor.get(f"/products/{p.id}")).status_code == 200
        assert "Back Again" in (await visitor.get("/")).text
    assert await audit_rows(app, p.id) == [
        (admin.id, "product.hide", "checking"),
        (admin.id, "product.unhide", "genuine after all"),
    ]
    async with app.state.database.transaction() as db:
        stmt = select(ProductStatusChange).where(ProductStatusChange.product_id == p.id)
        changes = (await db.execute(stmt.order_by(ProductStatusChange.id))).scalars().all()
    assert [(c.from_status, c.to_status, c.actor_id) for c in changes] == [
        (S.AUCTION_LIVE, S.HIDDEN, admin.id),
        (S.HIDDEN, S.AUCTION_LIVE, admin.id),
    ]


async def test_hide_without_a_reason_is_422_and_changes_nothing(client, app, members, products):
    await as_admin(client, members)
    p = await products.create(await members.seller())
    for reason in ["", "   ", "x" * 501]:
        r = await post_form(client, f"/admin/products/{p.id}/hide", {"reason": reason})
        assert r.status_code == 422, reason
        assert field_error(r.text, "reason"), reason
    assert "at most 500" in field_error(r.text, "reason") and "x" * 501 in r.text
    assert (await stored(app, p.id)).status is S.ON_SALE
    assert await audit_rows(app, p.id) == []


async def test_refusals_explain_and_change_nothing(client, app, members, products):
    await as_admin(client, members)
    seller = await members.seller()
    on_sale = await products.create(seller)
    hidden = await products.create(seller, status=S.HIDDEN, hidden_from=S.ENDED)
    cancelled = await products.create(seller, status=S.CANCELLED)
    await refusal_says(client, f"/admin/products/{hidden.id}/hide", "is already hidden")
    await refusal_says(client, f"/admin/products/{on_sale.id}/unhide", "is not hidden")
    await refusal_says(client, f"/admin/products/{cancelled.id}/hide", "cannot be changed")
    assert [(await stored(app, x.id)).status for x in (on_sale, hidden, cancelled)] == [
        S.ON_SALE,
        S.HIDDEN,
        S.CANCELLED,
    ]
    for x in (on_sale, hidden, cancelled):
        assert await audit_rows(app, x.id) == []


async def test_unknown_product_is_404(client, members):
    await as_admin(client, members)
    for url in ["/admin/products/999999", "/admin/products/99999999999999999999"]:
        assert (await client.get(url)).status_code == 404, url
    for action in ["hide", "unhide"]:
        r = await post_form(client, f"/admin/products/999999/{action}", {"reason": "x"})
        assert r.status_code == 404


async def test_shopper_is_forbidden_and_anonymous_is_sent_to_login(client, app, members, products):
    p = await products.create(await members.seller())
    r = await client.get("/admin/products")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/products"
    shopper = await members.create()
    await login(client, shopper.email)
    for url in ["/admin/products", f"/admin/products/{p.id}"]:
        r = await client.get(url)
        assert r.status_code == 403 and "for administrators" in r.text, url
    assert (await post_form(client, f"/admin/products/{p.id}/hide", {"reason": "mine now"})).status_code == 403
    assert (await stored(app, p.id)).status is S.ON_SALE


async def test_post_without_csrf_token_is_refused(client, app, members, products):
    await as_admin(client, members)
    p = await products.create(await members.seller())
    assert (await client.post(f"/admin/products/{p.id}/hide", data={"reason": "no token"})).status_code == 403
    r = await client.post(f"/admin/products/{p.id}/hide", data={"reason": "x", "_csrf_token": "forged"})
    assert r.status_code == 403
    assert (await stored(app, p.id)).status is S.ON_SALE
    assert await audit_rows(app, p.id) == []


async def test_admin_dashboard_links_to_products(client, members):
    await as_admin(client, members)
    assert 'href="/admin/products"' in (await client.get("/admin")).text


async def test_an_admin_sets_a_waiting_rooms_rate_and_bad_input_changes_nothing(client, app, members, products):
    seller = await members.seller()
    room = await products.create(seller, sale_mode=SaleMode.WAITING_ROOM, admission_rate_per_minute=600)
    plain = await products.create(seller)
    await as_admin(client, members)
    page = (await client.get(f"/admin/products/{room.id}")).text
    assert 'id="admission-rate-form"' in page and 'value="600"' in page
    assert 'id="admission-rate-form"' not in (await client.get(f"/admin/products/{plain.id}")).text
    url = f"/admin/products/{room.id}/admission-rate"
    for bad in ("fast", "0", "-5", "9" * 40):
        r = await post_form(client, url, {"admission_rate_per_minute": bad})
        assert r.status_code == 400 and 'aria-invalid="true"' in r.text, bad
        assert re.search(r'<p class="error" id="e-admission-rate">[^<]+</p>', r.text), bad
    r = await post_form(client, url, {"admission_rate_per_minute": "1,200"})
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, room.id)).admission_rate_per_minute == 1200
    r = await post_form(client, url, {"admission_rate_per_minute": ""})  # back to the shop's rate
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, room.id)).admission_rate_per_minute is None
    async with app.state.database.transaction() as db:
        audits = (await db.execute(select(AuditEntry).where(AuditEntry.action == "product.admission_rate"))).scalars()
        assert [a.reason for a in audits] == ["600 → 1200 a minute", "1200 → shop default a minute"]
    r = await post_form(client, f"/admin/products/{plain.id}/admission-rate", {"admission_rate_per_minute": "60"})
    assert r.status_code == 409 and "has no rate" in r.text
