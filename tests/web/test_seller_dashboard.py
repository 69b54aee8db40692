"""The seller's dashboard through the app, on real data."""

from __future__ import annotations

from tests.helpers.drops import on_sale
from tests.helpers.web import login


async def test_smoke(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    r = await client.get("/seller")
    open("/tmp/dash/page.html", "w").write(r.text)
    assert r.status_code == 200, r.text
