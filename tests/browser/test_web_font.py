"""Chromium loads Smore Sans (under the page's Content-Security-Policy) and draws Korean with it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.helpers.browser import policy_watched_context

pytestmark = pytest.mark.browser


async def test_korean_pages_load_and_use_smore_sans(live_server: str, browser: Browser):
    context, violations = await policy_watched_context(browser, live_server)
    await context.add_cookies([{"name": "lang", "value": "ko", "url": live_server}])
    page = await context.new_page()
    await page.goto("/")
    assert await page.get_attribute("html", "lang") == "ko"
    loaded = await page.evaluate(
        """async () => {
            await document.fonts.ready;
            await document.fonts.load('400 16px "Smore Sans"', '지금 구매');
            await document.fonts.load('700 16px "Smore Sans"', '지금 구매');
            return [...document.fonts].filter(f => f.family.replace(/"/g, '') === 'Smore Sans'
                && f.status === 'loaded').map(f => f.weight).sort();
        }"""
    )
    assert loaded == ["400", "700"]
    body_font = await page.evaluate("getComputedStyle(document.body).fontFamily")
    assert body_font.startswith('"Smore Sans"')
    assert await page.evaluate("""document.fonts.check('16px "Smore Sans"', '결제 기한')""")
    assert violations == []
    await context.close()
