"""Two shoppers watch the same drop: one presses Buy, the other's page follows over SSE without a
reload, in Korean and in English (the live fragment arrives in each viewer's language)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers.browser import LANGUAGES, language_page, t, words
from tests.helpers.drops import on_sale

pytestmark = pytest.mark.browser


def _left(left: int, language: str) -> str:
    return t("%(left)s of %(fixed)s left at the fixed price", language, left=left, fixed=5)


async def _watching(page: Page, product_id: int, language: str) -> None:
    """Open the product page and wait until its event stream is connected and has sent the state."""
    await page.goto(f"/products/{product_id}")
    live = page.locator("#live-stock")
    await expect(live).to_have_attribute("data-live", "connected")
    await expect(live.locator(".stock-left")).to_contain_text(_left(5, language))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_purchase_updates_another_shoppers_stock_live(
    live_server: str, browser: Browser, app, members, products, language
):
    product = await on_sale(app, members, products, fixed=5, total=7, limit=1)
    await members.create("ana@example.test")
    await members.create("bo@example.test")

    ctx_a, shopper_a = await language_page(browser, live_server, language, "ana@example.test")
    ctx_b, shopper_b = await language_page(browser, live_server, language, "bo@example.test")
    await _watching(shopper_a, product.id, language)
    await _watching(shopper_b, product.id, language)
    navigations: list[str] = []
    shopper_b.on("framenavigated", lambda frame: navigations.append(frame.url))
    await shopper_b.evaluate("window.__stillHere = true")

    await shopper_a.locator("#buy-box button.buy-button").click()
    await expect(shopper_a.locator("#buy-box")).to_contain_text(words("Yours!", language))
    await expect(shopper_a.locator("#buy-box")).to_be_focused()  # the result takes the focus

    await expect(shopper_b.locator("#live-stock .stock-left")).to_contain_text(_left(4, language))
    assert await shopper_b.evaluate("window.__stillHere === true"), "shopper B's page was reloaded"
    assert navigations == []
    assert shopper_b.url == f"{live_server}/products/{product.id}"
    await expect(shopper_a.locator("#live-stock .stock-left")).to_contain_text(_left(4, language))
    await expect(shopper_b.locator("html")).to_have_attribute("lang", language)

    await ctx_a.close()
    await ctx_b.close()
