"""A seller never buys or bids on their own products, through HTTP: the product page and the
auction page say so instead of showing Buy or the bid form, and every way of posting (HTMX, a
plain form, a replayed key, a proxy maximum) is refused with a clear answer and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.auctions import Bid
from app.models.catalog import Product
from app.models.drops import PressRefusal, PurchaseRight, StockEntry
from app.models.members import Member
from app.models.orders import Order
from tests.helpers.auctions import live_auction
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.web import buy, login, place, second_browser


async def drop_state(app, product_id: int) -> tuple[int, int, int, int, int]:
    """Rights, kept refusals, ledger rows, orders and units taken: what a refused press must not change."""
    async with app.state.database.transaction() as db:
        counted = [
            await db.scalar(select(func.count()).select_from(model).where(model.product_id == product_id))
            for model in (PurchaseRight, PressRefusal, StockEntry, Order)
        ]
        return (*counted, (await db.get(Product, product_id)).taken_quantity)


async def seller_of(app, member_id: int) -> Member:
    async with app.state.database.transaction() as db:
        return await db.get(Member, member_id)


async def test_the_product_page_tells_the_seller_instead_of_offering_buy(client, app, members, products):
    product = await on_sale(app, members, products)
    await login(client, (await seller_of(app, product.seller_id)).email)
    page = await client.get(f"/products/{product.id}")
    assert page.status_code == 200
    assert 'id="own-product"' in page.text and "cannot buy or bid on their own products" in page.text
    assert 'id="buy-box"' not in page.text and f"/products/{product.id}/buy" not in page.text
    async with second_browser(client) as shopper:
        await login(shopper, (await members.create()).email)
        seen = await shopper.get(f"/products/{product.id}")
        assert 'id="buy-box"' in seen.text and 'id="own-product"' not in seen.text


async def test_the_sellers_press_is_refused_every_way_and_writes_nothing(client, app, members, products):
    product = await on_sale(app, members, products)
    await login(client, (await seller_of(app, product.seller_id)).email)
    before = await drop_state(app, product.id)
    same = key()
    for htmx in (True, True, False):  # the HTMX button twice with one key, then the plain form
        r = await buy(client, product.id, same, htmx=htmx)
        if htmx:
            assert r.status_code == 403 and "sellers cannot buy their own products" in r.text
        else:
            assert r.status_code == 303 and r.headers["location"] == f"/products/{product.id}"
            assert "sellers cannot buy their own products" in (await client.get(r.headers["location"])).text
    assert await drop_state(app, product.id) == before
    async with second_browser(client) as shopper:  # the same key pressed by a shopper is theirs to use
        await login(shopper, (await members.create()).email)
        granted = await buy(shopper, product.id, same)
        assert granted.status_code == 200 and "Yours!" in granted.text
    rights, refusals, _, _, taken = await drop_state(app, product.id)
    assert (rights, refusals, taken) == (1, 0, before[4] + 1)


async def test_the_auction_refuses_the_seller_every_way(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    await login(client, (await seller_of(app, auction.seller_id)).email)
    product_page = await client.get(f"/products/{auction.product_id}")
    assert 'id="own-product"' in product_page.text and "Watch the live auction" in product_page.text
    page = await client.get(f"/auctions/{auction.id}")
    assert 'id="seller-note"' in page.text and 'name="amount"' not in page.text and 'name="maximum"' not in page.text
    proxy = await place(client, auction.id, "", maximum="90000")
    assert proxy.status_code == 422 and "your own product" in proxy.text
    plain = await place(client, auction.id, "50000", htmx=False)
    assert plain.status_code == 303
    assert "You cannot bid on your own product." in (await client.get(plain.headers["location"])).text
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Bid).where(Bid.auction_id == auction.id)) == 0
