"""The seller's product list and a product's stock ledger follow a sale live: their streams send
the current state first, then the new stock and the new ledger row after a Buy press; another
seller's ledger stream is a 404 and a shopper gets 403."""

from __future__ import annotations

import asyncio

import pytest

from app.drops.rules import Outcome
from app.drops.service import Press
from app.live.hub import touch
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.streams import sse_events
from tests.helpers.web import login, signed_in

pytestmark = pytest.mark.timeout(30)


async def a_press_after_the_first_event(app, product_id: int, shopper_id: int):
    async def press() -> None:
        await asyncio.sleep(0.1)
        result = await service(app).press(Press(product_id, shopper_id, key()))
        assert result.outcome is Outcome.GRANTED
        touch(product_id)  # what the Buy press's controller does after its batch

    return press


async def test_the_product_list_follows_the_stock(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    seller = await members.get(product.seller_id)
    shopper = await members.create()
    await login(client, seller.email)
    page = (await client.get("/seller/products")).text
    assert 'sse-connect="/seller/products/events"' in page and f'sse-swap="product-{product.id}-stock"' in page

    def four_left(events):
        return any(n == f"product-{product.id}-stock" and 'data-stock="4"' in d for n, d in events)

    press = await a_press_after_the_first_event(app, product.id, shopper.id)
    _start, events = await sse_events(client, "/seller/products/events", four_left, during=press)
    first = dict(events)
    assert 'data-stock="5"' in next(d for n, d in events if n == f"product-{product.id}-stock")
    assert 'data-status="on_sale"' in first[f"product-{product.id}-state"]
    assert four_left(events)


async def test_the_stock_ledger_gets_its_new_rows_live(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    seller = await members.get(product.seller_id)
    shopper = await members.create()
    await login(client, seller.email)
    url = f"/seller/products/{product.id}/stock"
    page = (await client.get(url)).text
    assert f'sse-connect="{url}/events"' in page and 'id="ledger-total"' in page

    def purchase_row(events):
        return any(n == "ledger" and 'data-reason="purchase"' in d for n, d in events)

    press = await a_press_after_the_first_event(app, product.id, shopper.id)
    _start, events = await sse_events(client, f"{url}/events", purchase_row, during=press)
    assert 'data-reason="purchase"' not in events[0][1] and 'data-reason="listing"' in events[0][1]
    last = [d for n, d in events if n == "ledger"][-1]
    assert "Ledger total 4 = stock 4" in last


async def test_the_ledger_stream_is_the_sellers_own(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    await login(client, (await members.seller()).email)
    assert (await client.get(f"/seller/products/{product.id}/stock/events")).status_code == 404
    assert (await client.get("/seller/products/999999/stock/events")).status_code == 404
    await signed_in(client, members)
    assert (await client.get(f"/seller/products/{product.id}/stock/events")).status_code == 403
    assert (await client.get("/seller/products/events")).status_code == 403
    assert (await client.get(f"/admin/products/{product.id}/stock/events")).status_code == 403
