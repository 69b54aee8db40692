"""The money journey in a browser: a purchase right → its order → pay in the sandbox gateway's
hosted checkout → paid → a partial refund asked without returning the unit, approved by the seller
in their refund queue → the unit returned for the rest. In Korean and in English (the browser's
language and the shop's ``lang`` cookie); the steps find their controls by id and address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from app.models.base import utcnow
from app.models.catalog import ProductStatus
from tests.helpers.browser import LANGUAGES, language_page, pay_with_the_approve_card, words
from tests.helpers.drops import open_sale

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
async def test_buy_pay_refund_in_part_then_in_full(
    live_server: str, browser: Browser, app, members, products, language
):
    seller = await members.seller()
    await members.create("ana@example.test")
    product = await products.create(
        seller,
        name="한정판 피규어",
        status=ProductStatus.ON_SALE,
        list_price=12_000,
        fixed_quantity=3,
        total_quantity=4,
        purchase_limit=1,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )
    await open_sale(app, product.id)

    context, page = await language_page(browser, live_server, language, "ana@example.test")
    await expect(page.locator("html")).to_have_attribute("lang", language)

    await page.goto(f"/products/{product.id}")
    await page.click("#buy-box button[type=submit]")
    await expect(page.locator(".buy-yours")).to_contain_text(words("Yours!", language))
    await page.click("#buy-box a[href$='/pay']")
    await pay_with_the_approve_card(page, "₩12,000", language)

    await page.click("a[href$='/refund']")
    await page.click("#ask-money")
    await page.fill("#f-amount", "5000")
    await page.fill("#f-reason", "box arrived dented")
    await page.click("#money-form button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("₩5,000")
    if language == "en":
        await expect(page.locator(".flash")).to_contain_text("Your request for ₩5,000 was sent to the seller")
        await expect(page.locator("table")).to_contain_text(["waiting for the seller's decision"])
    await expect(page.locator("table")).to_contain_text(["box arrived dented"])

    seller_context, seller_page = await language_page(browser, live_server, language, seller.email)
    await seller_page.goto("/seller")
    await seller_page.click("#my-refund-requests")
    await seller_page.click("#refund-queue a")
    await expect(seller_page.locator("#refund-request")).to_contain_text("box arrived dented")
    await seller_page.click("#approve-form button[type=submit]")
    await expect(seller_page.locator(".flash-success")).to_be_visible()
    await expect(seller_page.locator("#no-refund-requests")).to_be_visible()
    await seller_context.close()

    partly = words("Partially refunded", language, whole=True)
    for _ in range(40):  # the worker sends the refund to the gateway
        await page.reload()
        if _says(await page.locator("#order-state").inner_text(), partly):
            break
        await page.wait_for_timeout(250)
    await expect(page.locator("#order-state")).to_have_text(partly)
    await expect(page.locator("table")).to_contain_text(["box arrived dented"])

    await page.click("a[href$='/refund']")
    await page.fill("#f-quantity", "1")
    await page.fill("#f-reason", "changed my mind")
    await page.click("#units-form button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("₩7,000")
    if language == "en":
        await expect(page.locator(".flash")).to_contain_text("Refund of ₩7,000 for 1 unit requested")
    refunded = words("Refunded", language, whole=True)
    for _ in range(40):
        await page.reload()
        if _says(await page.locator("#order-state").inner_text(), refunded):
            break
        await page.wait_for_timeout(250)
    await expect(page.locator("#order-state")).to_have_text(refunded)
    await context.close()


def _says(text: str, expected: str | re.Pattern[str]) -> bool:
    return bool(expected.search(text)) if isinstance(expected, re.Pattern) else text.strip() == expected
