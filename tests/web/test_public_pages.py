"""Public pages through the app: home sections, the product page, category listings."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.catalog.popularity import add_views, recompute_popularity
from app.core.i18n import format_datetime, using
from app.models.base import utcnow
from app.models.catalog import ProductDailyStats, ProductImage, ProductStatus
from app.models.members import MemberRole
from tests.helpers.web import login, second_browser

S = ProductStatus


def card_ids(html: str, section: str) -> list[int]:
    start = html.index(f'id="h-{section}"')
    part = html[start : html.index("</section>", start)]
    return [int(n) for n in re.findall(r'id="product-card-(\d+)"', part)]


async def views(app, product_id: int) -> int:
    """The product's counted views, once this process's counter is written."""
    await app.state.background.flush_views()
    async with app.state.database.transaction() as db:
        stmt = select(ProductDailyStats.views).where(ProductDailyStats.product_id == product_id)
        return sum((await db.execute(stmt)).scalars())


async def make_popular(app, *pairs) -> None:
    async with app.state.database.transaction() as db:
        counts: dict = {}
        for product, n in pairs:
            key = (product.id, utcnow().date())
            counts[key] = counts.get(key, 0) + n
        await add_views(db, counts)
        await recompute_popularity(db)


async def every_status(products, seller) -> dict[S, object]:
    soon = utcnow() + timedelta(days=2)
    made = {}
    for status in S:
        extra = {"hidden_from": S.ON_SALE, "hidden_reason": "fake"} if status is S.HIDDEN else {}
        made[status] = await products.create(seller, status=status, sale_starts_at=soon, name=f"Item {status}", **extra)
    return made


async def test_home_sections_show_only_the_right_products(client, app, members, products):
    seller = await members.seller()
    made = await every_status(products, seller)
    later = await products.create(seller, status=S.SCHEDULED, sale_starts_at=utcnow() + timedelta(days=5))
    await make_popular(app, *[(p, 3) for p in made.values()], (made[S.ENDED], 9))
    r = await client.get("/")
    assert r.status_code == 200
    # same start time: the newer listing first
    assert card_ids(r.text, "live-drops") == [made[S.CONVERSION_PENDING].id, made[S.ON_SALE].id]
    assert card_ids(r.text, "starting-soon") == [made[S.SCHEDULED].id, later.id]  # next to open first
    assert card_ids(r.text, "live-auctions") == [made[S.AUCTION_LIVE].id]
    popular = card_ids(r.text, "popular-now")
    assert popular[0] == made[S.ENDED].id
    assert set(popular) == {made[s].id for s in (S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED)}
    for status in (S.DRAFT, S.HIDDEN, S.CANCELLED):
        assert f"Item {status}" not in r.text, status
    assert 'data-countdown="' in r.text and "KST" in r.text


async def test_home_empty_states(client):
    r = await client.get("/")
    for section in ("live-drops", "starting-soon", "live-auctions", "popular-now"):
        assert f'id="{section}-empty"' in r.text, section
    assert "/static/js/countdown.js" in r.text
    assert (await client.get("/static/js/countdown.js")).status_code == 200


async def test_product_page_shows_price_stock_seller_badge_and_description(client, app, members, products):
    seller = await members.create("maker@example.test", display_name="Studio Maker", role=MemberRole.SELLER)
    root = await products.category("toys", "Toys")
    figures = await products.category("art-figures", "Art figures", parent_id=root.id)
    p = await products.create(
        seller,
        category_id=figures.id,
        name="Moon Rabbit",
        list_price=1_234_500,
        total_quantity=10,
        fixed_quantity=6,
        taken_quantity=2,
        description="**Hand painted**\n<script>alert(1)</script>",
    )
    r = await client.get(f"/products/{p.id}")
    assert r.status_code == 200
    assert "<h1>Moon Rabbit</h1>" in r.text
    assert "₩1,234,500" in r.text
    assert "<strong>4</strong> of 6 left at the fixed price" in r.text
    assert "remaining 4" in r.text and "₩40,000" in r.text  # the auction note
    assert "Studio Maker" in r.text
    assert 'class="badge badge-on_sale">On sale<' in r.text
    assert '<a href="/categories/toys">Toys</a>' in r.text and '<a href="/categories/art-figures">' in r.text
    assert "<strong>Hand painted</strong>" in r.text and "<script>alert(1)" not in r.text
    assert 'id="no-images"' in r.text and "data-countdown" not in r.text
    assert 'id="not-public"' not in r.text


async def test_scheduled_product_has_a_countdown_meaningful_without_js(client, members, products):
    seller = await members.seller()
    starts = (utcnow() + timedelta(days=2, hours=3)).replace(microsecond=0)
    p = await products.create(seller, status=S.SCHEDULED, sale_starts_at=starts, total_quantity=6, fixed_quantity=6)
    r = await client.get(f"/products/{p.id}")
    assert r.status_code == 200
    assert f'data-countdown="{starts.strftime("%Y-%m-%dT%H:%M:%SZ")}"' in r.text
    with using("en", "Asia/Seoul"):  # the visitor's zone: Asia/Seoul, with its name
        assert format_datetime(starts) in r.text and format_datetime(starts).endswith(" KST")
    assert re.search(r"starts in 2d 0[23]:\d\d:\d\d", r.text)
    assert "Starting soon" in r.text
    assert 'id="auction-note"' not in r.text  # every unit sells at the fixed price


async def test_gallery_links_work_without_javascript(client, app, members, products):
    seller = await members.seller()
    p = await products.create(seller)
    async with app.state.database.transaction() as db:
        for i in range(3):
            db.add(
                ProductImage(
                    product_id=p.id, position=i, stem=f"img{p.id}x{i}", extension="jpg",
                    content_type="image/jpeg", width=800, height=600, size_bytes=1000,
                )
            )  # fmt: skip
    r = await client.get(f"/products/{p.id}")
    assert f'id="main-image" src="/uploads/img{p.id}x0.jpg"' in r.text
    for i in range(3):
        assert f'href="/products/{p.id}?image={i + 1}"' in r.text and f"/uploads/img{p.id}x{i}_thumb.webp" in r.text
    r = await client.get(f"/products/{p.id}", params={"image": "2"})
    assert f'id="main-image" src="/uploads/img{p.id}x1.jpg"' in r.text
    for odd, shown in (("99", 2), ("abc", 0), ("0", 0)):
        r = await client.get(f"/products/{p.id}", params={"image": odd})
        assert r.status_code == 200 and f'src="/uploads/img{p.id}x{shown}.jpg"' in r.text, odd
    assert await views(app, p.id) == 1  # browsing the gallery is not another visit


async def test_non_public_products_are_404_for_the_public(client, members, products):
    seller = await members.seller()
    shopper = await members.create()
    made = await every_status(products, seller)
    urls = [f"/products/{made[s].id}" for s in (S.DRAFT, S.HIDDEN, S.CANCELLED)]
    urls += ["/products/999999", "/products/99999999999999999999"]
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], url
    await login(client, shopper.email)
    for url in urls:
        assert (await client.get(url)).status_code == 404, url
    for status in (S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED):
        assert (await client.get(f"/products/{made[status].id}")).status_code == 200, status


async def test_the_seller_and_admins_see_a_hidden_product_with_the_reason(client, members, products):
    seller = await members.seller()
    admin = await members.admin()
    hidden = await products.create(
        seller, status=S.HIDDEN, hidden_from=S.ON_SALE, hidden_reason="Looks like a counterfeit", name="Odd Bunny"
    )
    draft = await products.create(seller, status=S.DRAFT, name="Unfinished")
    await login(client, seller.email)
    r = await client.get(f"/products/{hidden.id}")
    assert r.status_code == 200 and "Odd Bunny" in r.text
    assert 'id="not-public"' in r.text and "Only you can see this page" in r.text
    assert '<span id="hidden-reason">Looks like a counterfeit</span>' in r.text
    r = await client.get(f"/products/{draft.id}")
    assert r.status_code == 200 and "Status: Draft" in r.text
    async with second_browser(client) as other:
        await login(other, admin.email)
        r = await other.get(f"/products/{hidden.id}")
        assert r.status_code == 200 and "Looks like a counterfeit" in r.text
        assert f'href="/admin/products/{hidden.id}"' in r.text


async def test_views_are_counted_for_visitors_but_not_for_the_seller(client, app, members, products):
    seller = await members.seller()
    p = await products.create(seller)
    draft = await products.create(seller, status=S.DRAFT)
    await client.get(f"/products/{p.id}")
    await client.get(f"/products/{p.id}")
    async with second_browser(client) as own:
        await login(own, seller.email)
        await own.get(f"/products/{p.id}")
        await own.get(f"/products/{draft.id}")
    assert await views(app, p.id) == 2
    assert await views(app, draft.id) == 0


async def test_category_page_lists_public_products_of_the_subtree_paginated(client, members, products):
    seller = await members.seller()
    root = await products.category("collectibles")
    child = await products.category("figures-c", parent_id=root.id)
    grandchild = await products.category("mini-figures", parent_id=child.id)
    other = await products.category("sneakers")
    listed = []
    for i, cat in enumerate([root, child, grandchild, grandchild, child, root, grandchild]):
        listed.append(await products.create(seller, category_id=cat.id, name=f"Listed {i}"))
    await products.create(seller, category_id=child.id, status=S.DRAFT, name="Draft one")
    await products.create(seller, category_id=grandchild.id, status=S.HIDDEN, hidden_from=S.ON_SALE, name="Hidden one")
    await products.create(seller, category_id=other.id, name="Elsewhere")

    def ids(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'id="product-card-(\d+)"', html)]

    first = await client.get("/categories/collectibles")
    second = await client.get("/categories/collectibles", params={"page": "2"})
    assert first.status_code == 200 and second.status_code == 200
    assert "Page 1 of 2 (7 in all)" in first.text and 'href="?page=2"' in first.text
    assert len(ids(first.text)) == 5 and len(ids(second.text)) == 2
    assert sorted(ids(first.text) + ids(second.text)) == sorted(p.id for p in listed)
    both = first.text + second.text
    assert "Draft one" not in both and "Hidden one" not in both and "Elsewhere" not in both
    r = await client.get("/categories/mini-figures")
    assert sorted(ids(r.text)) == sorted(listed[i].id for i in (2, 3, 6))
    assert 'class="pagination"' not in r.text
    r = await client.get("/categories/sneakers", params={"page": "abc"})
    assert r.status_code == 200 and "Elsewhere" in r.text


async def test_favicon_is_a_small_image(client):
    r = await client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/")
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 0 < len(r.content) < 20_000
    page = await client.get("/")
    assert '<link rel="icon" href="/favicon.ico">' in page.text
