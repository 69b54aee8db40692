"""Sign up → apply as seller → an admin approves → the new seller sees the seller link, in Korean
and in English."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, language_context, t
from tests.helpers.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
async def test_signup_apply_approve_then_seller_link(live_server: str, browser: Browser, members, language) -> None:
    await members.admin("boss@example.test")

    shopper_ctx = await language_context(browser, live_server, language)
    shopper = await shopper_ctx.new_page()
    await shopper.goto("/signup")
    await shopper.fill("#f-email", "maker@example.test")
    await shopper.fill("#f-display_name", "Maker Kim")
    await shopper.fill("#f-password", PASSWORD)
    await shopper.fill("#f-password_confirm", PASSWORD)
    await shopper.click("main button[type=submit]")
    await expect(shopper.locator(".flash-success")).to_contain_text(
        t("Welcome to Smore, %(name)s!", language, name="Maker Kim")
    )
    await expect(shopper.locator('[data-nav="seller"]')).to_have_count(0)

    await shopper.click('[data-nav="apply"]')
    await expect(shopper).to_have_url(f"{live_server}/seller/apply")
    await shopper.fill("#f-business_name", "Maker Studio")
    await shopper.fill("#f-contact", "+82 10 1234 5678")
    await shopper.fill("#f-description", "Hand-painted resin figures in runs of fifty.")
    await shopper.click("main button[type=submit]")
    await expect(shopper.locator("#application-status")).to_contain_text(t("Waiting for review", language))

    admin_ctx = await language_context(browser, live_server, language)
    admin = await admin_ctx.new_page()
    await admin.goto("/admin/sellers")
    await expect(admin).to_have_url(f"{live_server}/login?next=/admin/sellers")
    await admin.fill("#f-email", "boss@example.test")
    await admin.fill("#f-password", PASSWORD)
    await admin.click("main button[type=submit]")
    await expect(admin).to_have_url(f"{live_server}/admin/sellers")
    row = admin.locator("tr", has_text="Maker Studio")
    await row.get_by_role("button", name=t("Approve", language)).click()
    await expect(admin.locator(".flash-success")).to_contain_text(
        t("%(name)s is now a seller.", language, name="Maker Studio")
    )

    await shopper.reload()
    seller_link = shopper.locator('[data-nav="seller"]')
    await expect(seller_link).to_be_visible()
    await seller_link.click()
    await expect(shopper).to_have_url(f"{live_server}/seller")
    await expect(shopper.locator("h1")).to_have_text(t("Seller dashboard", language))

    await shopper_ctx.close()
    await admin_ctx.close()
