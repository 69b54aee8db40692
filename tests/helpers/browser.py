"""Steps a shopper takes in Chromium (through Playwright), and a browser context that records every
Content-Security-Policy violation its pages report."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.helpers.factories import PASSWORD


async def signed_in_page(browser: Browser, base: str, email: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own, signed in as ``email`` through the login form."""
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    await sign_in(page, email)
    return context, page


async def sign_in(page: Page, email: str) -> None:
    """Through the login form, as ``email``."""
    await page.goto("/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await expect(page.locator('[data-nav="me"]')).to_be_visible()


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


VIOLATION = "csp-violation:"
# Runs in every document before the page's own scripts (injected by the browser, outside the policy).
_REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("csp-violation: " + e.effectiveDirective + " refused " + (e.blockedURI || "inline code")
    + " in " + e.documentURI + (e.sample ? " (" + e.sample + ")" : ""));
});"""


async def policy_watched_context(browser: Browser, base: str) -> tuple[BrowserContext, list[str]]:
    """A browser context and the list of the policy violations its pages report: the
    ``securitypolicyviolation`` events and the browser's own console messages about the policy."""
    context = await browser.new_context(base_url=base)
    violations: list[str] = []
    await context.add_init_script(script=_REPORT_VIOLATIONS)

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith(VIOLATION) or "Content Security Policy" in message.text:
            violations.append(message.text)

    context.on("console", on_console)
    return context, violations
