"""Steps a shopper takes in Chromium (through Playwright)."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.helpers.factories import PASSWORD


async def signed_in_page(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own, signed in as ``email`` through the login form."""
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page.locator('[data-nav="me"]')).to_be_visible()
    return context, page


async def pay_with_the_approve_card(page: Page, amount: str) -> None:
    """On an order's page: Pay, then in the gateway's hosted checkout (asking ``amount``) the card
    that approves; back on the order, paid."""
    await expect(page.locator("#order-state")).to_have_text("Awaiting payment")
    await page.click("#pay-button")

    # the gateway's hosted checkout
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    await expect(page.locator(".amount")).to_contain_text(amount)
    await page.check("input[name=card][value=approve]")
    await page.click("button.pay")

    await expect(page.locator("#order-state")).to_have_text("Paid")
    await expect(page.locator(".flash")).to_contain_text("Paid. Thank you!")
