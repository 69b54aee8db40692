"""The proof before joining a waiting room's line, in Chromium on a phone-sized page: the widget
speaks the page's language, fits 360 px, and on the press of "Join the line" solves the shop's
challenge in its worker (under the page's policy: not one violation) and the member joins; both
pages pass axe. Without JavaScript the member waits a moment and presses again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect

from app.models.base import utcnow
from app.models.catalog import ProductStatus, SaleMode
from app.models.lines import LinePlace
from tests.helpers.browser import (
    LANGUAGES,
    PHONE,
    axe_violations,
    language_context,
    overflow,
    sign_in,
    t,
    watch_policy,
)
from tests.helpers.config import with_settings
from tests.helpers.tables import count

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


async def open_line(members, products):
    return await products.create(
        await members.seller("kiln@example.test"),
        status=ProductStatus.SCHEDULED,
        sale_mode=SaleMode.WAITING_ROOM,
        sale_starts_at=utcnow() + timedelta(minutes=10),  # the line opens 15 minutes before
    )


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_widget_solves_on_a_phone_and_the_member_joins(
    live_server: str, browser: Browser, app, members, products, language
):
    shopper = await members.create("min@example.test")
    product = await open_line(members, products)
    context = await language_context(browser, live_server, language, viewport=PHONE)
    violations = await watch_policy(context)
    page = await context.new_page()
    await sign_in(page, shopper.email)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url.removeprefix(live_server)))

    await page.goto(f"/products/{product.id}")
    widget = page.locator("#join-line-form altcha-widget")
    await expect(widget.locator("label")).to_have_text(t("I'm not a robot", language))
    assert await widget.locator("input[type=checkbox]").count() == 1
    assert await overflow(page) is None, await overflow(page)
    found = [f"product page: {v}" for v in await axe_violations(page)]

    started = time.monotonic()
    await page.click("#join-line")  # solves first, then sends the form
    await page.wait_for_url(f"**/products/{product.id}/line")
    await expect(page.locator("#line-waiting")).to_be_visible()
    took = time.monotonic() - started
    print(f"proof solved and the join answered in {took:.2f} s")
    assert "/proof/challenge" in fetched and "/static/vendor/altcha-3.2.2-sha-worker.js" in fetched
    assert await count(app, LinePlace) == 1
    assert await page.locator("[aria-live=polite]").count() >= 1
    assert await overflow(page) is None, await overflow(page)
    found += [f"line page: {v}" for v in await axe_violations(page)]
    await context.close()
    assert violations == []
    assert found == [], "serious or critical axe violations:\n" + "\n".join(found)


@pytest.mark.slow
@with_settings("one-second-wait", proof_of_time_seconds=1)
async def test_without_javascript_the_member_waits_and_presses_again(
    live_server: str, browser: Browser, app, members, products
):
    shopper = await members.create("min@example.test")
    product = await open_line(members, products)
    context = await language_context(browser, live_server, "ko", viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await sign_in(page, shopper.email)
    await page.goto(f"/products/{product.id}")
    await expect(page.locator("#proof-noscript")).to_be_visible()
    await page.click("#join-line")
    refusal = page.locator("#join-line-page-form #line-refusal")
    await expect(refusal).to_contain_text("JavaScript")
    assert await page.locator("input[name=waited]").count() == 1
    assert await count(app, LinePlace) == 0
    await page.wait_for_timeout(2100)  # the wait, from the next whole second
    await page.click("#join-line")
    await page.wait_for_url(f"**/products/{product.id}/line")
    await expect(page.locator("#line-waiting")).to_be_visible()
    assert await count(app, LinePlace) == 1
    await context.close()
