"""An administrator keeps /admin/ops open while a shopper presses Buy in another browser: the
admin's page shows that drop's presses without a reload, in Korean and in English; on a phone the
page fits the screen and axe finds nothing serious."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, PHONE, axe_violations, language_page, overflow, words
from tests.helpers.drops import on_sale

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_admins_open_ops_page_shows_a_shoppers_presses_live(
    live_server: str, browser: Browser, app, members, products, language
):
    product = await on_sale(app, members, products, fixed=5, total=7, limit=1)
    admin = await members.admin()
    shopper = await members.create("ana@example.test")

    admin_ctx, ops = await language_page(browser, live_server, language, admin.email)
    await ops.goto("/admin/ops")
    row = ops.locator(f"#ops-drop-{product.id}")
    await expect(row.locator(".ops-granted")).to_have_text("0")
    await expect(ops.locator("h1")).to_have_text(words("Operations", language, whole=True))
    navigations: list[str] = []
    ops.on("framenavigated", lambda frame: navigations.append(frame.url))
    await ops.evaluate("window.__stillHere = true")

    shop_ctx, page = await language_page(browser, live_server, language, shopper.email)
    await page.goto(f"/products/{product.id}")
    await page.locator("#buy-box button.buy-button").click()
    await expect(page.locator("#buy-box")).to_contain_text(words("Yours!", language))

    await expect(row.locator(".ops-granted")).to_have_text("1", timeout=8000)  # the next poll or two
    await expect(row.locator(".ops-held")).to_have_text("1")
    await expect(row.locator(".ops-batches")).to_have_text("1")
    assert await ops.evaluate("window.__stillHere === true"), "the admin's page was reloaded"
    assert navigations == [] and ops.url == f"{live_server}/admin/ops"
    await expect(ops.locator("html")).to_have_attribute("lang", language)
    summary = ops.locator("#ops-summary")
    await expect(summary).to_have_attribute("aria-live", "polite")
    await expect(summary).to_contain_text(words("presses arriving", language))

    await ops.set_viewport_size(PHONE)
    await ops.reload()
    await expect(row.locator(".ops-granted")).to_have_text("1")
    assert await overflow(ops) is None
    assert await axe_violations(ops) == []
    await shop_ctx.close()
    await admin_ctx.close()
