"""Search in a real browser: results follow the typing (HTMX, no page load), filters live in the
same form, and the pushed URL reproduces the same results when opened on its own, in Korean and in
English."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from app.search.index import get_index
from app.search.rebuild import rebuild
from tests.helpers.browser import LANGUAGES, language_context

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
async def test_results_follow_typing_and_the_url_is_shareable(
    live_server: str, browser: Browser, app, members, products, settings, language
) -> None:
    seller = await members.seller()
    figures = await products.category("figures", "Figures")
    vinyl = await products.category("vinyl", "Vinyl")
    boxed = await products.create(seller, name="한정판피규어세트", category_id=figures.id, list_price=120_000)
    runner = await products.create(seller, name="Running figure", category_id=figures.id, list_price=30_000)
    await products.create(seller, name="Jazz vinyl", category_id=vinyl.id, list_price=45_000)
    await rebuild(app.state.database, get_index(settings.search_path))

    context = await language_context(browser, live_server, language)
    page = await context.new_page()
    await page.goto("/search")
    await expect(page.locator("html")).to_have_attribute("lang", language)
    hits = page.locator(".search-hit")
    await expect(hits).to_have_count(3)
    await page.evaluate("window.stillTheSamePage = true")

    await page.fill("#f-q", "피규어")
    await expect(hits).to_have_count(1)
    await expect(page.locator(f"#hit-{boxed.id}")).to_be_visible()
    await expect(page).to_have_url(f"{live_server}/search?q=%ED%94%BC%EA%B7%9C%EC%96%B4")

    await page.fill("#f-q", "figure")
    await expect(hits).to_have_count(2)
    await page.select_option("#f-sort", "price_asc")
    await expect(page).to_have_url(f"{live_server}/search?q=figure&sort=price_asc")
    await expect(hits.first).to_have_attribute("data-product-id", str(runner.id))
    assert await page.evaluate("window.stillTheSamePage") is True  # swapped, never reloaded

    shared = await context.new_page()
    await shared.goto(page.url)
    await expect(shared.locator(".search-hit")).to_have_count(2)
    await expect(shared.locator(".search-hit").first).to_have_attribute("data-product-id", str(runner.id))
    await expect(shared.locator("#f-q")).to_have_value("figure")
    await expect(shared.locator("#f-sort")).to_have_value("price_asc")
    await context.close()
