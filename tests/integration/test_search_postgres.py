"""PostgreSQL's search (``product_search``) is current when the product's transaction commits:
no worker, no queue and no rebuild between a change and the next search, on any web host."""

from __future__ import annotations

import pytest
from sqlalchemy import Text, delete, func, literal_column, select

from app.catalog.transitions import product_changed, transition
from app.events.outbox import record_event
from app.events.topics import Topic
from app.models.catalog import Product, ProductStatus
from app.search.backend import PostgresSearch, search_backend
from app.search.pg_rows import product_search
from app.search.query import parse_params
from app.search.rebuild import rebuild
from tests.helpers.backends import postgres_only

pytestmark = postgres_only


async def found(app, q: str = "", **filters: str) -> list[int]:
    async with app.state.database.transaction() as db:
        page = await PostgresSearch().search(db, parse_params(q, **filters), 1, 50)
    return [hit.product.id for hit in page.items]


async def test_the_backend_follows_the_settings(app, settings):
    assert isinstance(search_backend(settings), PostgresSearch)


async def test_search_is_current_at_commit_and_not_before(app, members, products):
    seller = await members.seller()
    bag = await products.create(seller, name="가죽 가방", list_price=50_000)
    assert await found(app, "가방") == [bag.id]  # no worker ran: the commit wrote the row
    assert await found(app, "인형") == []

    database = app.state.database
    async with database.transaction() as db:
        product = await db.get(Product, bag.id)
        product.name = "곰 인형"
        product.description = "Running shoes for dolls"
        await product_changed(db, product)
        await db.flush()
        # another session (another web host) still sees the committed catalog
        assert await found(app, "인형") == [] and await found(app, "가방") == [bag.id]
    assert await found(app, "인형") == [bag.id]
    assert await found(app, "가방") == []
    assert await found(app, "run") == [bag.id]  # English stems: "running" is found by "run"

    async with database.transaction() as db:  # a status change through the status core
        await transition(db, await db.get(Product, bag.id), ProductStatus.HIDDEN, reason="counterfeit")
    assert await found(app, "인형") == [] and await found(app) == []
    async with database.transaction() as db:
        await transition(db, await db.get(Product, bag.id), ProductStatus.ON_SALE, reason="verified")
    assert await found(app, "인형") == [bag.id]


async def test_a_rolled_back_change_leaves_search_as_it_was(app, members, products):
    seller = await members.seller()
    doll = await products.create(seller, name="토끼 인형", list_price=20_000)
    with pytest.raises(RuntimeError):
        async with app.state.database.transaction() as db:
            product = await db.get(Product, doll.id)
            product.name = "토끼 가방"
            await product_changed(db, product)
            raise RuntimeError("the request failed")
    assert await found(app, "인형") == [doll.id] and await found(app, "가방") == []


async def test_filters_sorts_substrings_and_a_rebuild_that_agrees(app, members, products):
    seller = await members.seller()
    figures = await products.category("figures", "Figures")
    anime = await products.category("anime", "Anime", parent_id=figures.id)
    vinyl = await products.category("vinyl", "Vinyl")
    a = await products.create(seller, name="한정판피규어세트", category_id=anime.id, list_price=120_000)
    b = await products.create(seller, name="Running figure", category_id=figures.id, list_price=30_000)
    c = await products.create(
        seller, name="Jazz vinyl", category_id=vinyl.id, list_price=45_000, status=ProductStatus.SCHEDULED
    )
    await products.create(seller, name="Draft figure 피규어", status=ProductStatus.DRAFT)
    assert await found(app, "피규어") == [a.id] and await found(app, "정판") == [a.id]
    assert await found(app, "피어") == []  # both grams are in the name, but not as one word
    assert set(await found(app, "figure")) == {a.id, b.id}  # a: by its category path
    assert set(await found(app, category=str(figures.id))) == {a.id, b.id}
    assert await found(app, status="scheduled") == [c.id]
    assert await found(app, min_price="40000", max_price="100000") == [c.id]
    assert await found(app, sort="price_asc") == [b.id, c.id, a.id]
    assert await found(app, sort="price_desc") == [a.id, c.id, b.id]
    assert (await found(app, sort="ending_soon"))[-1] == c.id  # scheduled after running sales
    assert await found(app, "figu ") == []  # a finished word is not a prefix
    assert await found(app, "Fig") == [b.id]  # the word being typed: a prefix of a name word

    async with app.state.database.transaction() as db:
        await db.execute(delete(Product).where(Product.id == c.id))
        await record_event(db, Topic.PRODUCT_CHANGED, "product", c.id)
    assert c.id not in await found(app)
    before = {q: await found(app, q) for q in ("", "피규어", "figure", "running")}
    assert await rebuild(app.state.database) == 2
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(product_search)) == 3  # the draft too
    assert {q: await found(app, q) for q in before} == before


@pytest.mark.parametrize(
    "q",
    [
        "'",
        '"',
        "\\",
        "a:*",
        "!(a & b)",
        "피규어' OR 1=1 --",
        "'; DROP TABLE products; --",
        "x\x00y",
        "가" * 5000,
        "figure " * 300,
        "<->",
        ":*A",
        "&|!()",
        "\ud800",
    ],
)
async def test_hostile_text_never_errors(app, members, products, q):
    seller = await members.seller()
    await products.create(seller, name="Running figure 피규어", list_price=30_000)
    await found(app, q)  # no exception is the point; what matches is the unit tests' business


async def test_pages_count_every_match_and_past_the_end_show_the_last(app, members, products):
    seller = await members.seller()
    made = [await products.create(seller, name=f"인형 {i}", list_price=10_000 + i) for i in range(5)]
    await products.create(seller, name="인형 draft", status=ProductStatus.DRAFT)

    async def page(number: int, q: str = "인형") -> tuple[list[int], int, int]:
        async with app.state.database.transaction() as db:
            got = await PostgresSearch().search(db, parse_params(q, sort="price_asc"), number, 2)
        return [hit.product.id for hit in got.items], got.total, got.number

    ids = [p.id for p in made]
    assert await page(1) == (ids[0:2], 5, 1)  # the count is every public match, not the page's
    assert await page(3) == (ids[4:5], 5, 3)
    assert await page(9) == (ids[4:5], 5, 3)  # past the end: the last page
    assert await page(2, "없는말") == ([], 0, 1)


async def test_a_change_search_does_not_read_leaves_the_row_unwritten(app, members, products):
    """A Buy batch changes the units taken, which no search row holds: the row is not rewritten
    (its xmin stays), while a change of the name rewrites it in the same commit."""
    seller = await members.seller()
    cup = await products.create(seller, name="Glazed cup", list_price=30_000, fixed_quantity=5, total_quantity=5)

    async def row_version() -> str:
        async with app.state.database.transaction() as db:
            stmt = select(func.cast(literal_column("xmin"), Text)).select_from(product_search)
            return await db.scalar(stmt.where(product_search.c.product_id == cup.id))

    before = await row_version()
    async with app.state.database.transaction() as db:
        (await db.get(Product, cup.id)).taken_quantity = 2
    assert await row_version() == before
    async with app.state.database.transaction() as db:
        (await db.get(Product, cup.id)).name = "Glazed bowl"
    assert await row_version() != before
    assert await found(app, "bowl") == [cup.id] and await found(app, "cup") == []
