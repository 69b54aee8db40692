"""The money journey in a browser: a purchase right → its order → pay in the sandbox gateway's
hosted checkout → paid → a partial refund → the rest refunded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from app.drops.gate import gate_for
from app.drops.reconcile import reconcile_product
from app.drops.stock import open_stock
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from tests.helpers.factories import PASSWORD

pytestmark = pytest.mark.browser


async def test_buy_pay_refund_in_part_then_in_full(live_server: str, browser: Browser, app, members, products):
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
    settings = app.state.settings
    async with app.state.database.transaction() as db:
        await open_stock(db, await db.get(Product, product.id))
    await reconcile_product(app.state.database, gate_for(settings), product.id)

    context = await browser.new_context(base_url=live_server)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#f-email", "ana@example.test")
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page.locator('[data-nav="me"]')).to_be_visible()

    await page.goto(f"/products/{product.id}")
    await page.click("#buy-box button[type=submit]")
    await expect(page.locator(".buy-yours")).to_contain_text("Yours!")
    await page.click("text=Pay now")
    await expect(page.locator("#order-state")).to_have_text("Awaiting payment")
    await page.click("#pay-button")

    # the gateway's hosted checkout
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    await expect(page.locator(".amount")).to_contain_text("₩12,000")
    await page.check("input[name=card][value=approve]")
    await page.click("button.pay")

    await expect(page.locator("#order-state")).to_have_text("Paid")
    await expect(page.locator(".flash")).to_contain_text("Paid. Thank you!")

    await page.click("text=Request a refund")
    await page.fill("#f-quantity", "0")
    await page.fill("#f-amount", "5000")
    await page.fill("#f-reason", "box arrived dented")
    await page.click("main form button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("Refund of ₩5,000 requested")
    for _ in range(40):  # the worker sends the refund to the gateway
        await page.reload()
        if await page.locator("#order-state").inner_text() == "Partially refunded":
            break
        await page.wait_for_timeout(250)
    await expect(page.locator("#order-state")).to_have_text("Partially refunded")
    await expect(page.locator("table")).to_contain_text(["box arrived dented"])

    await page.click("text=Request a refund")
    await page.fill("#f-quantity", "1")
    await page.fill("#f-reason", "changed my mind")
    await page.click("main form button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("Refund of ₩7,000 requested")
    for _ in range(40):
        await page.reload()
        if await page.locator("#order-state").inner_text() == "Refunded":
            break
        await page.wait_for_timeout(250)
    await expect(page.locator("#order-state")).to_have_text("Refunded")
    await context.close()
