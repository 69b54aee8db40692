"""The demo seller lists a product; shoppers find it in search in Korean and in English and open it,
with the shop's pages in Korean and in English."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from playwright.async_api import Browser, expect

from app.search.index import get_index
from app.seed import DEMO_PASSWORD, seed
from tests.helpers.browser import LANGUAGES, language_context, t

pytestmark = pytest.mark.browser

NAME = "Starlight 별빛한정판피규어세트 Figurines"


async def _indexed(index, name: str) -> bool:
    return any(name in fields.get("name", "") for fields in index.with_searcher(lambda s: list(s.all_stored_fields())))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 80, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_seller_lists_then_shoppers_find_it_in_korean_and_english(
    live_server: str, browser: Browser, settings, language
):
    await seed(settings)
    context = await language_context(browser, live_server, language, timezone_id="Asia/Seoul")
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the publish confirmation

    await page.goto("/login?next=/seller/products/new")
    await page.fill("#f-email", "seller@smore.test")
    await page.fill("#f-password", DEMO_PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page).to_have_url(f"{live_server}/seller/products/new")

    await page.fill("#f-name", NAME)
    await page.fill("#f-description", "Glow-in-the-dark figurines, **numbered**.\n별빛 피규어 세트.")
    await page.select_option("#f-category_id", label="— Anime figures")
    await page.set_input_files("#f-images", files=[{"name": "front.png", "mimeType": "image/png", "buffer": _png()}])
    await page.fill("#f-list_price", "99,000")
    await page.fill("#f-total_quantity", "10")
    await page.fill("#f-fixed_quantity", "6")
    await page.fill("#f-purchase_limit", "1")
    starts = datetime.now(UTC).astimezone() + timedelta(days=2)
    await page.fill("#f-sale_starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#f-auction_start_price", "80000")
    await page.fill("#f-auction_increment", "1000")
    await page.fill("#f-auction_duration_minutes", "60")
    await page.click("main form button[type=submit]")
    await expect(page).to_have_url(f"{live_server}/seller/products")
    row = page.locator("tr", has_text=NAME)
    await expect(row).to_contain_text(t("Draft", language))
    await row.get_by_role("button", name=t("Publish", language)).click()
    await expect(page.locator("tr", has_text=NAME)).to_contain_text(t("Starting soon", language))

    # the index follows the product's events within seconds; search once it has
    index = get_index(settings.search_path)
    for _ in range(100):
        if await _indexed(index, NAME):
            break
        await asyncio.sleep(0.1)

    shopper = await (await language_context(browser, live_server, language)).new_page()
    await shopper.goto("/search")
    await shopper.fill("#f-q", "별빛한정판")  # a Korean substring of one word
    hit = shopper.locator(".search-hit", has_text=NAME)
    await expect(hit).to_be_visible(timeout=10_000)
    # the address bar follows, so the search can be shared
    await expect(shopper).to_have_url(re.compile(r"/search\?q=%EB%B3%84%EB%B9%9B%ED%95%9C%EC%A0%95%ED%8C%90"))

    await shopper.fill("#f-q", "figurine")  # English, by stem: "Figurines"
    await expect(shopper.locator(".search-hit", has_text=NAME)).to_be_visible()
    await shopper.locator(".search-hit", has_text=NAME).get_by_role("link", name=NAME).click()
    await expect(shopper.locator("h1")).to_contain_text(NAME)
    await expect(shopper.locator("main")).to_contain_text("₩99,000")
    await expect(shopper.locator("main")).to_contain_text("Hanbit Figures")
    await context.close()
