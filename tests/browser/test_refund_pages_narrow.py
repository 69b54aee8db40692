"""The refund pages on a 360 px wide phone: the shopper's refund forms, the seller's queue and a
request's review page fit the screen (no sideways scrolling)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from app.payments.refund_requests import request_money
from tests.helpers.browser import signed_in_page
from tests.helpers.orders import paid_order

pytestmark = pytest.mark.browser


async def fits(page: Page, url: str) -> None:
    await page.goto(url)
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 360, f"{url} is {wide} px wide"


async def test_the_refund_pages_fit_a_phone(live_server: str, browser: Browser, app, members, products):
    order, _payment = await paid_order(app, members, products)
    async with app.state.database.transaction() as db:
        refund = await request_money(db, order, amount=2_500, reason="a long reason " * 8, actor_id=order.member_id)
    shopper = await members.get(order.member_id)
    context, page = await signed_in_page(browser, live_server, shopper.email)
    await page.set_viewport_size({"width": 360, "height": 740})
    for url in (f"/orders/{order.id}", f"/orders/{order.id}/refund", f"/orders/{order.id}/refund?kind=money"):
        await fits(page, url)
    await context.close()
    seller = await members.get(order.seller_id)
    context, page = await signed_in_page(browser, live_server, seller.email)
    await page.set_viewport_size({"width": 360, "height": 740})
    await fits(page, "/seller/refunds")
    await expect(page.locator(f"#request-{refund.id}")).to_be_visible()
    await fits(page, f"/seller/refunds/{refund.id}")
    await expect(page.locator("#approve-form button")).to_be_visible()
    await context.close()
