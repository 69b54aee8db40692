"""Forgot password in Chromium, at a phone's width: ask on the sign-in page, read the mail in the
outbox (/dev/mail), follow its link, choose a new password, sign in with it; in Korean and in
English (the mail too: it speaks the language of the request that asked for it)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, language_context, t
from tests.helpers.config import with_settings

pytestmark = pytest.mark.browser
NEW = "a-brand-new-password"


@pytest.mark.parametrize("language", LANGUAGES)
@with_settings("debug", debug=True)  # /dev/mail: the embedded default, or DEBUG on PostgreSQL + Redis
async def test_forgot_password_from_sign_in_to_sign_in(
    live_server: str, browser: Browser, members, tmp_path, language
) -> None:
    await members.create("phone@example.test", display_name="Phone User")
    context = await language_context(browser, live_server, language, viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await page.goto("/login")
    await page.click("#forgot-link")
    # the sign-in page has its own #f-email: fill the one of the page the link leads to
    await expect(page).to_have_url(f"{live_server}/password/forgot")
    await page.fill("#f-email", "phone@example.test")
    await page.click("main button[type=submit]")
    await expect(page.locator("#forgot-sent")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", language)

    await page.goto("/dev/mail")
    for _ in range(50):  # the queue writes the mail a moment after the answer
        if await page.locator(".mail-link").count():
            break
        await page.wait_for_timeout(100)
        await page.reload()
    await expect(page.locator(".mail-subject").first).to_have_text(t("Reset your Smore password", language))
    await page.screenshot(path=str(tmp_path / "dev-mail-360.png"), full_page=True)
    # the outbox's own content fits a phone (a mail's long link wraps)
    width = await page.evaluate(
        "Math.max(...[...document.querySelectorAll('main *')].map(e => e.getBoundingClientRect().right))"
    )
    assert width <= 360, f"/dev/mail's content reaches {width}px at 360px"
    link = await page.locator(".mail-link").first.get_attribute("href")
    assert link and "/password/reset/" in link

    await page.goto(link)  # the mail names the live server (PUBLIC_URL defaults to 127.0.0.1:$PORT)
    await page.fill("#f-password", NEW)
    await page.fill("#f-password_confirm", NEW)
    await page.click("main button[type=submit]")
    await expect(page).to_have_url(f"{live_server}/login")
    await expect(page.locator(".flash-success")).to_contain_text(
        t("Your password was changed and you were signed out everywhere. Sign in with it now.", language)
    )
    await page.fill("#f-email", "phone@example.test")
    await page.fill("#f-password", NEW)
    await page.click("main button[type=submit]")
    await expect(page.locator('[data-nav="me"]')).to_be_attached()  # in the header's menu, folded on a phone
    await context.close()
