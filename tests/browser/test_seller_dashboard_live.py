"""A seller watches the sell-through chart of their live drop move while a shopper in another
browser buys, without reloading, in Korean and in English; the dashboard fits a phone and has no
serious accessibility violation before and after the change."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, PHONE, axe_violations, language_page, overflow, t
from tests.helpers.drops import on_sale

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_seller_watches_the_chart_move_while_a_shopper_buys(
    live_server: str, browser: Browser, app, members, products, language
):
    product = await on_sale(app, members, products, fixed=5, total=7, limit=2)
    seller = await members.get(product.seller_id)
    await members.create("ana@example.test")

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

    await dashboard.locator(f"#drop-{product.id} details summary").click()  # the numbers behind it
    await expect(dashboard.locator(f"#drop-{product.id}-rows tr").last).to_contain_text("2")
    assert await overflow(dashboard) is None
    assert await axe_violations(dashboard) == []
    await shopper_context.close()
    await seller_context.close()
