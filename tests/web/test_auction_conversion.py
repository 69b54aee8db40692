"""The conversion seen from the product page: the moment the last fixed-price unit is paid, the
product page links to its auction, and that link already leads to the auction (never "This
product has no auction (yet)"), with no event handled in between."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models.auctions import Auction
from app.models.catalog import Product, ProductStatus
from tests.helpers.gateway import in_process_gateway
from tests.helpers.orders import open_checkout, pay_with


@pytest.fixture
async def shop(app):
    with in_process_gateway(app):
        yield app


async def test_the_auction_link_works_the_moment_the_last_fixed_price_unit_is_paid(client, shop, members, products):
    app = shop
    _member, _order_id, _right_id, query = await open_checkout(client, app, members, products, fixed=1)
    async with app.state.database.transaction() as db:
        product_id = await db.scalar(select(Product.id).order_by(Product.id.desc()).limit(1))
        assert (await db.get(Product, product_id)).status is ProductStatus.CONVERSION_PENDING
    back = await pay_with(client, query, "approve")
    assert (await client.get(back)).status_code == 303  # the confirm: the last unit is paid
    page = await client.get(f"/products/{product_id}")
    link = re.search(r'id="auction-link"><a [^>]*href="([^"]+)"', page.text)
    assert link is not None, "the product page links to its live auction"
    r = await client.get(link.group(1))
    assert r.status_code == 303, r.text
    auction_page = await client.get(r.headers["location"])
    assert auction_page.status_code == 200
    async with app.state.database.transaction() as db:
        auction = (await db.execute(select(Auction).where(Auction.product_id == product_id))).scalar_one()
    assert r.headers["location"] == f"/auctions/{auction.id}"
    assert auction.status.value == "live" and auction.units == 2
