"""A seller watches the sell-through chart of their live drop move while a shopper in another
browser buys, without reloading, and an administrator's open operations page shows that drop's
presses, in Korean and in English; the dashboard fits a phone and has no serious accessibility
violation before and after the change (the operations page's width and axe checks are with every
page's, in test_phone_width and test_accessibility)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, PHONE, axe_violations, language_page, overflow, t, words
from tests.helpers.drops import on_sale

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_seller_watches_the_chart_move_while_a_shopper_buys(
    live_server: str, browser: Browser, app, members, products, language
):
    product = await on_sale(app, members, products, fixed=5, total=7, limit=2)
    seller = await members.get(product.seller_id)
    await members.create("ana@example.test")
    admin = await members.admin()

    seller_context, dashboard = await language_page(browser, live_server, language, seller.email, viewport=PHONE)
    await dashboard.goto("/seller")
    await expect(dashboard.locator("#dashboard")).to_have_attribute("data-live", "connected")
    chart = dashboard.locator(f"#drop-{product.id}-svg")
    await expect(chart).to_have_attribute("data-taken", "0")
    assert await overflow(dashboard) is None
    assert await axe_violations(dashboard) == []
    await dashboard.evaluate("window.__stillHere = true")
    navigations: list[str] = []
    dashboard.on("framenavigated", lambda frame: navigations.append(frame.url))

    admin_context, ops = await language_page(browser, live_server, language, admin.email)
    await ops.goto("/admin/ops")
    ops_row = ops.locator(f"#ops-drop-{product.id}")
    await expect(ops_row.locator(".ops-granted")).to_have_text("0")
    await ops.evaluate("window.__stillHere = true")

    shopper_context, shopper = await language_page(browser, live_server, language, "ana@example.test")
    await shopper.goto(f"/products/{product.id}")
    for taken in (1, 2):
        await shopper.locator("#buy-box button.buy-button").click()
        await expect(shopper.locator("#buy-box")).to_contain_text(t("Yours!", language))
        await expect(chart).to_have_attribute("data-taken", str(taken), timeout=3_000)
        if taken == 1:
            await shopper.goto(f"/products/{product.id}")  # a fresh buy box for the second press

    await expect(dashboard.locator("#units-taken")).to_have_attribute("data-count", "2")
    await expect(dashboard.locator(f"#drop-{product.id}-left")).to_have_attribute("data-left", "3")
    held = t("held %(held)s, paid %(paid)s, returned %(returned)s", language, held=2, paid=0, returned=0)
    await expect(dashboard.locator(f"#drop-{product.id}-units")).to_contain_text(held)
    await expect(dashboard.locator("html")).to_have_attribute("lang", language)
    assert await dashboard.evaluate("window.__stillHere === true"), "the seller's page was reloaded"
    assert navigations == [] and dashboard.url == f"{live_server}/seller"

    # the operations page polls: that drop's two admitted presses, held, without a reload
    await expect(ops_row.locator(".ops-granted")).to_have_text("2", timeout=8_000)
    await expect(ops_row.locator(".ops-held")).to_have_text("2")
    assert int(await ops_row.locator(".ops-batches").inner_text()) in (1, 2)
    await expect(ops.locator("#ops-summary")).to_have_attribute("aria-live", "polite")
    await expect(ops.locator("#ops-summary")).to_contain_text(words("presses arriving", language))
    assert await ops.evaluate("window.__stillHere === true"), "the admin's page was reloaded"
    await admin_context.close()

    await dashboard.locator(f"#drop-{product.id} details summary").click()  # the numbers behind it
    await expect(dashboard.locator(f"#drop-{product.id}-rows tr").last).to_contain_text("2")
    assert await overflow(dashboard) is None
    assert await axe_violations(dashboard) == []
    await shopper_context.close()
    await seller_context.close()
