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
