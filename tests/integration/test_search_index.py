"""The Whoosh index: Korean substrings, English stems, filters and sorts; fed from product events
through the queue, and rebuilt from the database with the same results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from app.catalog.transitions import product_changed, transition
from app.events.outbox import record_event
from app.events.topics import Topic
from app.models.catalog import Product, ProductStatus
from app.search.documents import CategoryInfo, to_document
from app.search.index import SearchIndex, get_index
from app.search.query import parse_params
from app.search.rebuild import rebuild
from app.search.service import search
from tests.helpers.backends import whoosh_only

pytestmark = whoosh_only

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CATEGORIES = {
    1: CategoryInfo(1, None, "Figures"),
    2: CategoryInfo(2, 1, "Anime figures"),
    3: CategoryInfo(3, None, "Vinyl records"),
}


def _doc(pid: int, name: str, *, category: int = 1, price: int = 10_000, status=ProductStatus.ON_SALE, **kw):
    product = Product(
        id=pid,
        name=name,
        description=kw.pop("description", ""),
        category_id=category,
        seller_id=1,
        list_price=price,
        status=status,
        sale_starts_at=kw.pop("starts", T0),
        popularity=0,
        created_at=T0 + timedelta(minutes=pid),
        updated_at=T0,
    )
    return to_document(product, CATEGORIES, kw.pop("seller", "Hanbit Shop"))


@pytest.fixture
def index(tmp_path) -> SearchIndex:
    ix = SearchIndex(tmp_path / "search")
    for doc in [
        _doc(1, "한정판피규어세트", price=120_000),
        _doc(2, "Running shoes figure", category=2, price=30_000, description="Run faster."),
        _doc(3, "Limited figurines", category=2, price=80_000, starts=T0 + timedelta(days=2)),
        _doc(4, "Jazz vinyl LP", category=3, price=45_000, description="피규어 아님 레코드"),
        _doc(5, "Run the jewels poster", category=3, price=5_000, status=ProductStatus.SCHEDULED),
        _doc(6, "고양이 한정판figure", price=60_000, status=ProductStatus.AUCTION_LIVE),
    ]:
        assert doc is not None
        ix.upsert(doc)
    yield ix
    ix.close()


def ids(index: SearchIndex, q: str = "", page: int = 1, size: int = 50, **filters: str) -> list[int]:
    result = search(index, parse_params(q, **filters), page, size)
    return [int(hit["id"]) for hit in result.items]


def test_korean_substring_of_a_word(index):
    assert set(ids(index, "피규어")) == {1, 4}
    assert ids(index, "한정판피규어세트") == [1]
    assert ids(index, "정판피규어") == [1]  # longer than an n-gram: all its 4-grams must match
    assert ids(index, "세트") == [1]
    assert set(ids(index, "한정판")) == {1, 6}
    assert ids(index, "고양이 figure") == [6]
    assert ids(index, "피규어세트가") == []


def test_english_words_by_stem(index):
    assert set(ids(index, "running")) == {2, 5}  # "Running", "Run faster", "Run the jewels"
    assert set(ids(index, "run")) == {2, 5}
    assert set(ids(index, "figures")) == {1, 2, 3, 6}  # name "figure" or category "Figures"
    assert ids(index, "figurine") == [3]
    assert ids(index, "running figurine") == []  # every word must match
    assert ids(index, "RUNNING Shoes")[0] == 2
    assert ids(index, "jazz")[0] == 4


def test_name_matches_rank_first(index):
    assert ids(index, "figure ")[0] in {2, 6}  # in the name, not only the category or seller


def test_filters_and_sorts(index):
    assert set(ids(index, category="1")) == {1, 2, 3, 6}  # a category includes its subcategories
    assert set(ids(index, category="2")) == {2, 3}
    assert ids(index, status="scheduled") == [5]
    assert set(ids(index, min_price="40000", max_price="100000")) == {3, 4, 6}
    assert ids(index, sort="price_asc") == [5, 2, 4, 6, 3, 1]
    assert ids(index, sort="price_desc") == [1, 3, 6, 4, 2, 5]
    assert ids(index, sort="newest") == [6, 5, 4, 3, 2, 1]
    assert ids(index, sort="ending_soon")[0] == 6  # the live auction first
    assert ids(index, "figure", category="2", max_price="50000", sort="price_asc") == [2]
    for sort in ("relevance", "price_asc"):  # totals count every match, not only the page
        page = search(index, parse_params(min_price="40000", max_price="100000", sort=sort), 1, 2)
        assert (page.total, page.pages, len(page.items)) == (3, 2, 2)
        page = search(index, parse_params("figure", max_price="100000", sort=sort), 1, 1)
        assert page.total == 3 and len(page.items) == 1


def test_pages_and_totals(index):
    first = search(index, parse_params(""), 1, 4)
    second = search(index, parse_params(""), 2, 4)
    assert first.total == second.total == 6 and second.number == 2
    assert len(first.items) == 4 and len(second.items) == 2
    assert search(index, parse_params(""), 99, 4).number == 2  # past the end: the last page


def test_upsert_replaces_and_delete_removes(index):
    doc = _doc(2, "Walking boots")
    index.upsert(doc)
    assert ids(index, "running") == [5]
    assert ids(index, "walking") == [2]
    index.delete(2)
    assert ids(index, "walking") == []
    assert index.doc_count() == 5
    for q in ("", "figure", "피규어", "run"):  # counts leave deleted documents out too
        found = search(index, parse_params(q), 1, 50)
        assert found.total == len(found.items), q
    index.delete(12345)  # unknown: nothing happens
    assert index.doc_count() == 5


def test_concurrent_writers_and_readers_do_not_crash(index):
    errors: list[BaseException] = []

    def write(start: int) -> None:
        try:
            for i in range(start, start + 15):
                index.upsert(_doc(i, f"Concurrent figure {i}"))
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(30):
                ids(index, "concurrent figure")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    import threading

    threads = [threading.Thread(target=write, args=(s,)) for s in (100, 200, 300)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids(index, "concurrent", size=100)) == 45


# -- fed from events, rebuilt from the database ---------------------------------------------------


async def eventually(check: Callable[[], bool], what: str, limit: float = 15.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if check():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"the index never showed {what}")


QUERIES = [
    {"q": "피규어"},
    {"q": "figure"},
    {"q": "running"},
    {"q": ""},
    {"q": "", "sort": "price_asc"},
    {"q": "vinyl", "status": "on_sale"},
]


async def test_index_follows_product_events_and_rebuild_agrees(client, app, members, products, settings):
    if app.state.broker.backend == "redis":
        app.state.broker.start_worker()
    index = get_index(settings.search_path)
    seller = await members.seller()
    figures = await products.category("figures", "Figures")
    anime = await products.category("anime", "Anime", parent_id=figures.id)
    vinyl = await products.category("vinyl", "Vinyl")
    a = await products.create(seller, name="한정판피규어세트", category_id=anime.id, list_price=120_000)
    b = await products.create(seller, name="Running figure", category_id=figures.id, list_price=30_000)
    c = await products.create(seller, name="Jazz vinyl", category_id=vinyl.id, list_price=45_000)
    d = await products.create(
        seller, name="Figure poster", category_id=vinyl.id, list_price=9_000, status=ProductStatus.SCHEDULED
    )
    draft = await products.create(seller, name="Secret figure draft", status=ProductStatus.DRAFT)
    hidden = await products.create(seller, name="Hidden figure", status=ProductStatus.HIDDEN)

    waited = await eventually(lambda: set(ids(index, "")) == {a.id, b.id, c.id, d.id}, "the new products")
    assert waited < 10
    assert ids(index, "피규어") == [a.id]
    assert set(ids(index, "figure")) == {a.id, b.id, d.id}  # a: its category path says "Figures"
    assert set(ids(index, category=str(figures.id))) == {a.id, b.id}
    assert draft.id not in ids(index, "draft") and hidden.id not in ids(index, "hidden")

    # an edit: the new name is searchable, the old one no longer
    async with app.state.database.transaction() as db:
        product = await db.get(Product, c.id)
        product.name = "Jazz vinyl record"
        product.description = "재즈 레코드"
        await product_changed(db, product)
    await eventually(lambda: ids(index, "레코드") == [c.id], "the edited description")
    assert ids(index, "records") == [c.id]

    # hidden by a moderator: gone
    async with app.state.database.transaction() as db:
        product = await db.get(Product, b.id)
        await transition(db, product, ProductStatus.HIDDEN, reason="counterfeit")
    await eventually(lambda: b.id not in ids(index, ""), "the hidden product removed")
    assert ids(index, "running") == []

    # deleted: gone
    async with app.state.database.transaction() as db:
        await db.execute(delete(Product).where(Product.id == d.id))
        await record_event(db, Topic.PRODUCT_CHANGED, "product", d.id)
    await eventually(lambda: set(ids(index, "")) == {a.id, c.id}, "the deleted product removed")

    # unhidden: back
    async with app.state.database.transaction() as db:
        product = await db.get(Product, b.id)
        await transition(db, product, ProductStatus.ON_SALE, reason="verified")
    await eventually(lambda: ids(index, "running") == [b.id], "the unhidden product")

    before = {str(q): ids(index, **q) for q in QUERIES}
    # stale documents from before (a product long gone) vanish in a rebuild from scratch
    index.upsert(_doc(999_999, "Ghost figure 피규어"))
    assert 999_999 in ids(index, "figure")
    assert await rebuild(app.state.database, index) == 3
    after = {str(q): ids(index, **q) for q in QUERIES}
    assert after == before
    assert sorted(after[str({"q": ""})]) == sorted([a.id, b.id, c.id])
    assert after[str({"q": "", "sort": "price_asc"})] == [b.id, c.id, a.id]


async def test_rebuild_command_indexes_only_public_products(app, members, products, settings):
    seller = await members.seller()
    shown = await products.create(seller, name="Public figure")
    await products.create(seller, name="Draft figure", status=ProductStatus.DRAFT)
    await products.create(seller, name="Cancelled figure", status=ProductStatus.CANCELLED)
    index = get_index(settings.search_path)
    assert await rebuild(app.state.database, index) == 1
    assert ids(index, "figure") == [shown.id]
    assert index.ids() == {shown.id}


def test_a_word_in_the_name_outranks_the_same_word_in_category_or_seller(tmp_path):
    ix = SearchIndex(tmp_path / "rank")
    try:
        # both sit under "Figures / Anime figures" and are sold by "Hanbit Figures"
        ix.upsert(_doc(1, "한정판 세트", category=2, seller="Hanbit Figures"))
        ix.upsert(_doc(2, "Moonlight Knight Figure (Limited 1/7)", category=2, seller="Hanbit Figures"))
        assert ids(ix, "figure") == [2, 1]
    finally:
        ix.close()


def test_the_sellers_name_is_not_product_text(tmp_path):
    ix = SearchIndex(tmp_path / "seller")
    try:
        # a shop whose name says "figure" also sells records and a poster
        ix.upsert(_doc(1, "Jazz vinyl", category=3, seller="Hanbit Figures 피규어샵"))
        ix.upsert(_doc(2, "Tour poster", category=3, seller="Hanbit Figures 피규어샵"))
        ix.upsert(_doc(3, "Moonlight Knight Figure", category=3, seller="Other Shop"))
        assert ids(ix, "figure") == [3]
        assert ids(ix, "figures ") == [3]
        assert ids(ix, "피규어샵") == []
        assert ids(ix, "hanbit") == []
        assert ix.with_searcher(lambda s: s.document(id="1"))["seller"] == "Hanbit Figures 피규어샵"  # still shown
    finally:
        ix.close()
