"""Two shoppers watch the same drop: one presses Buy, the other's page follows over SSE without a reload."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers.browser import signed_in_page
from tests.helpers.drops import on_sale

pytestmark = pytest.mark.browser


async def _watching(page: Page, product_id: int) -> None:
    """Open the product page and wait until its event stream is connected and has sent the state."""
    await page.goto(f"/products/{product_id}")
    live = page.locator("#live-stock")
    await expect(live).to_have_attribute("data-live", "connected")
    await expect(live.locator(".stock-left")).to_contain_text("5 of 5 left")


async def test_a_purchase_updates_another_shoppers_stock_live(
    live_server: str, browser: Browser, app, members, products
):
    product = await on_sale(app, members, products, fixed=5, total=7, limit=1)
    await members.create("ana@example.test")
    await members.create("bo@example.test")

    ctx_a, shopper_a = await signed_in_page(browser, live_server, "ana@example.test")
    ctx_b, shopper_b = await signed_in_page(browser, live_server, "bo@example.test")
    await _watching(shopper_a, product.id)
    await _watching(shopper_b, product.id)
    navigations: list[str] = []
    shopper_b.on("framenavigated", lambda frame: navigations.append(frame.url))
    await shopper_b.evaluate("window.__stillHere = true")

    await shopper_a.get_by_role("button", name="Buy now").click()
    await expect(shopper_a.locator("#buy-box")).to_contain_text("Yours!")

    await expect(shopper_b.locator("#live-stock .stock-left")).to_contain_text("4 of 5 left")
    assert await shopper_b.evaluate("window.__stillHere === true"), "shopper B's page was reloaded"
    assert navigations == []
    assert shopper_b.url == f"{live_server}/products/{product.id}"
    await expect(shopper_a.locator("#live-stock .stock-left")).to_contain_text("4 of 5 left")

    await ctx_a.close()
    await ctx_b.close()
