"""``/search`` through the app: the page, filters and sorts, the HTMX fragment, bad input."""

from __future__ import annotations

import re

import pytest

from app.models.catalog import Product, ProductStatus
from app.models.members import MemberRole
from app.search.documents import load_categories, to_document
from app.search.index import get_index
from app.search.query import parse_params
from app.search.rebuild import rebuild
from app.search.service import search


async def reindex(app, settings) -> None:
    """Whoosh learns of products through the queue: rebuild it. PostgreSQL needs nothing, the
    products' commits wrote their search rows, so these tests also check that search is current."""
    if settings.is_sqlite:
        await rebuild(app.state.database, get_index(settings.search_path))


def hit_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-product-id="(\d+)"', html)]


@pytest.fixture
async def catalog(client, app, members, products, settings):
    """Three public products in a small category tree, plus ones that must never be found."""
    seller = await members.create(role=MemberRole.SELLER, display_name="Hanbit Shop")
    figures = await products.category("figures", "Figures")
    anime = await products.category("anime", "Anime", parent_id=figures.id)
    vinyl = await products.category("vinyl", "Vinyl")
    made = {
        "set": await products.create(seller, name="한정판피규어세트", category_id=anime.id, list_price=120_000),
        "runner": await products.create(seller, name="Running figure", category_id=figures.id, list_price=30_000),
        "jazz": await products.create(
            seller, name="Jazz vinyl", category_id=vinyl.id, list_price=45_000, status=ProductStatus.SCHEDULED
        ),
        "draft": await products.create(seller, name="Draft figure 피규어", status=ProductStatus.DRAFT),
        "hidden": await products.create(seller, name="Hidden figure 피규어", status=ProductStatus.HIDDEN),
        "cancelled": await products.create(seller, name="Cancelled figure", status=ProductStatus.CANCELLED),
    }
    await reindex(app, settings)
    made["seller"] = seller
    made["figures"], made["anime"], made["vinyl"] = figures, anime, vinyl
    return made


async def test_search_page_renders_form_and_results(client, catalog):
    response = await client.get("/search", params={"q": "figure"})
    assert response.status_code == 200
    html = response.text
    assert "<html" in html and 'id="search-form"' in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html and 'hx-push-url="true"' in html
    assert set(hit_ids(html)) == {catalog["set"].id, catalog["runner"].id}
    runner = catalog["runner"]
    assert f'href="/products/{runner.id}"' in html
    assert "₩30,000" in html and "On sale" in html and catalog["seller"].display_name in html
    assert 'value="figure"' in html


async def test_empty_search_lists_every_public_product(client, catalog):
    html = (await client.get("/search")).text
    assert set(hit_ids(html)) == {catalog["set"].id, catalog["runner"].id, catalog["jazz"].id}
    assert "Starting soon" in html


async def test_korean_substring_and_english_stem(client, catalog):
    assert hit_ids((await client.get("/search?q=피규어")).text) == [catalog["set"].id]
    assert hit_ids((await client.get("/search", params={"q": "runs"})).text) == [catalog["runner"].id]


async def test_filters(client, catalog):
    async def found(**params: str) -> set[int]:
        response = await client.get("/search", params=params)
        assert response.status_code == 200
        return set(hit_ids(response.text))

    assert await found(category=str(catalog["figures"].id)) == {catalog["set"].id, catalog["runner"].id}
    assert await found(category=str(catalog["anime"].id)) == {catalog["set"].id}
    assert await found(status="scheduled") == {catalog["jazz"].id}
    assert await found(min_price="40000", max_price="100,000") == {catalog["jazz"].id}
    assert await found(q="figure", max_price="50000") == {catalog["runner"].id}
    html = (await client.get("/search", params={"category": str(catalog["anime"].id)})).text
    assert f'<option value="{catalog["anime"].id}" selected>' in html


async def test_sorts(client, catalog):
    s, r, j = catalog["set"].id, catalog["runner"].id, catalog["jazz"].id
    assert hit_ids((await client.get("/search?sort=price_asc")).text) == [r, j, s]
    assert hit_ids((await client.get("/search?sort=price_desc")).text) == [s, j, r]
    assert hit_ids((await client.get("/search?sort=newest")).text) == [j, r, s]
    assert hit_ids((await client.get("/search?sort=ending_soon")).text)[-1] == j  # scheduled after on sale


async def test_htmx_gets_the_results_fragment_only(client, catalog):
    plain = await client.get("/search?q=figure")
    fragment = await client.get("/search?q=figure", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="search-form"' not in fragment.text
    assert set(hit_ids(fragment.text)) == set(hit_ids(plain.text))
    assert "HX-Request" in fragment.headers.get("vary", "")
    tidy = await client.get(
        "/search?q=figure&category=&status=&min_price=abc&max_price=&sort=relevance", headers={"HX-Request": "true"}
    )
    assert tidy.headers["hx-push-url"] == "/search?q=figure"
    assert (await client.get("/search?sort=newest", headers={"HX-Request": "true"})).headers[
        "hx-push-url"
    ] == "/search?sort=newest"
    boosted = await client.get("/search?q=figure", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text
    restore = await client.get("/search?q=figure", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "name:x OR (y* AND ~z)"}, None),
        ({"q": 'figure^3 "unclosed [a TO'}, None),
        ({"q": "*** ~ ( )"}, "at least one word"),
        ({"q": "figure " * 800}, "limited to 200 characters"),
        ({"q": "가" * 5000}, "limited to 200 characters"),
        ({"min_price": "abc"}, "not a price"),
        ({"max_price": "-5", "min_price": "1e9"}, "not a price"),
        ({"min_price": "9" * 40}, "not a price"),
        ({"category": "figures'--"}, "category does not exist"),
        ({"category": "999999"}, "category does not exist"),
        ({"status": "draft"}, "cannot be searched"),
        ({"sort": "drop table", "page": "-3"}, None),
        ({"page": "abc"}, None),
        ({"page": "99999999999999999999"}, None),
    ],
)
async def test_bad_input_gives_a_page_never_an_error(client, catalog, params, message):
    for headers in ({}, {"HX-Request": "true"}):
        response = await client.get("/search", params=params, headers=headers)
        assert response.status_code == 200, response.text[:500]
        if message:
            assert message in response.text


async def test_drafts_hidden_and_cancelled_never_appear(client, app, catalog, settings):
    never = {catalog["draft"].id, catalog["hidden"].id, catalog["cancelled"].id}
    for params in ({"q": "figure"}, {"q": "피규어"}, {}, {"status": "draft"}, {"status": "hidden"}, {"q": "draft"}):
        html = (await client.get("/search", params=params)).text
        assert not never & set(hit_ids(html)), params
    if not settings.is_sqlite:
        return  # PostgreSQL filters the products' current state: no index can lag behind it
    # even if the index lagged behind (a hidden product still indexed), the page leaves it out
    async with app.state.database.transaction() as db:
        hidden = await db.get(Product, catalog["hidden"].id)
        hidden.status = ProductStatus.ON_SALE  # only to build the document; rolled back below
        doc = to_document(hidden, await load_categories(db), "x")
        await db.rollback()
    index = get_index(settings.search_path)
    index.upsert(doc)
    assert catalog["hidden"].id in {int(h["id"]) for h in search(index, parse_params("hidden")).items}
    html = (await client.get("/search", params={"q": "hidden"})).text
    assert catalog["hidden"].id not in hit_ids(html)


async def test_pagination_keeps_the_query(client, members, products, app, settings):
    seller = await members.seller()
    for i in range(7):  # page size is 5 in tests
        await products.create(seller, name=f"Vinyl record {i}", list_price=10_000 + i)
    await reindex(app, settings)
    first = (await client.get("/search", params={"q": "vinyl", "sort": "price_asc"})).text
    assert len(hit_ids(first)) == 5
    link = re.search(r'href="(\?[^"]*page=2[^"]*)"', first)
    assert link and "q=vinyl" in link.group(1) and "sort=price_asc" in link.group(1)
    second = (await client.get("/search" + link.group(1).replace("&amp;", "&"))).text
    assert len(hit_ids(second)) == 2
    assert not set(hit_ids(first)) & set(hit_ids(second))


async def test_a_sellers_name_does_not_make_every_product_match(client, app, members, products, settings):
    shop = await members.create(role=MemberRole.SELLER, display_name="Figure Friends 피규어")
    vinyl = await products.category("records", "Records")
    record = await products.create(shop, name="Jazz vinyl", category_id=vinyl.id, list_price=45_000)
    poster = await products.create(shop, name="Tour poster", category_id=vinyl.id, list_price=9_000)
    figure = await products.create(shop, name="Moonlight Knight figure", category_id=vinyl.id, list_price=90_000)
    await reindex(app, settings)
    html = (await client.get("/search", params={"q": "figure"})).text
    assert hit_ids(html) == [figure.id]
    assert hit_ids((await client.get("/search", params={"q": "피규어"})).text) == []
    assert hit_ids((await client.get("/search", params={"q": "friends "})).text) == []
    every = (await client.get("/search")).text
    assert set(hit_ids(every)) == {record.id, poster.id, figure.id}
    assert "Figure Friends 피규어" in every  # the seller is still named on each hit
