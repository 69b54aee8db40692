"""Two members wait in a waiting room's line on their phones, in Korean and in English. The sale
has started at a slow rate (one place a minute); places are let in by the admissions service at
moments the test moves on (a minute, then another), and each page follows without a reload: the
places let in so far, the member's own "places ahead of you" and wait. At the first member's turn
their Buy form appears live, in place; they press Buy and the purchase right is theirs ("Yours!"),
while the second still waits. The live line page fits 360 px and has no serious or critical axe
violation, waiting and at one's turn."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from app.models.base import utcnow
from tests.helpers.browser import LANGUAGES, PHONE, axe_violations, language_page, overflow, tn, words
from tests.helpers.lines import issue, join_all, room_on_sale

pytestmark = pytest.mark.browser

WAIT_MS = 10_000  # the longest a live update may take to show


def let_in(count: int, language: str) -> str:
    return tn("%(count)s place let in so far", "%(count)s places let in so far", count, language, count=count)


def ahead(count: int, language: str) -> str:
    return tn("%(count)s place ahead of you", "%(count)s places ahead of you", count, language, count=count)


def wait(minutes: int, language: str) -> str:
    singular, plural = "Estimated wait: about %(count)s minute", "Estimated wait: about %(count)s minutes"
    return tn(singular, plural, minutes, language, count=minutes)


async def follows(page: Page, admitted: int, places_ahead: int | None, language: str) -> None:
    """The page shows ``admitted`` places let in and, while the member waits, ``places_ahead``."""
    await expect(page.locator("#line-admitted")).to_have_text(let_in(admitted, language), timeout=WAIT_MS)
    if places_ahead is not None:
        await expect(page.locator("#line-ahead")).to_have_text(ahead(places_ahead, language), timeout=WAIT_MS)
        await expect(page.locator("#line-wait")).to_have_text(wait(places_ahead, language))  # one a minute


async def problems(page: Page, name: str) -> list[str]:
    found = [f"{name}: {v}" for v in await axe_violations(page)]
    if wide := await overflow(page):
        found.append(f"{name}: {wide}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
async def test_two_members_follow_the_line_live_and_the_first_buys_at_their_turn(
    live_server: str, browser: Browser, app, members, products, language
):
    starts = utcnow() - timedelta(seconds=2)  # the live server lets in place 1; place 2 only a minute on
    product = await room_on_sale(app, members, products, fixed=5, rate=1, sale_starts_at=starts)
    ana, bo = await members.create("ana@example.test"), await members.create("bo@example.test")
    in_front = [await members.create(f"early{n}@example.test") for n in range(2)]
    await join_all(app, [*in_front, ana, bo], product.id, utcnow())  # places 1 to 4 in that order
    await issue(app, product.id, starts)  # place 1 (if the live server's loop has not already)

    pages: dict[str, Page] = {}
    contexts = []
    navigations: list[str] = []
    for member in (ana, bo):
        context, page = await language_page(browser, live_server, language, member.email, viewport=PHONE)
        contexts.append(context)
        await page.goto(f"/products/{product.id}/line")
        await expect(page.locator("#line-live")).to_have_attribute("data-live", "connected", timeout=WAIT_MS)
        await page.evaluate("window.__stillHere = true")
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        pages[member.email] = page
    ana_page, bo_page = pages[ana.email], pages[bo.email]
    await follows(ana_page, 1, 2, language)
    await follows(bo_page, 1, 3, language)
    found = await problems(bo_page, "waiting")

    assert await issue(app, product.id, starts + timedelta(minutes=1)) == 1  # place 2
    await follows(ana_page, 2, 1, language)
    await follows(bo_page, 2, 2, language)

    assert await issue(app, product.id, starts + timedelta(minutes=2)) == 1  # place 3: Ana's turn
    await expect(ana_page.locator("#line-buy-form")).to_be_visible(timeout=WAIT_MS)
    await expect(ana_page.locator("#line-turn")).to_have_text(words("It's your turn", language, whole=True))
    await follows(ana_page, 3, None, language)
    await follows(bo_page, 3, 1, language)
    found += await problems(ana_page, "at one's turn")

    await ana_page.locator("#line-buy").click()
    await expect(ana_page.locator("#buy-box")).to_contain_text(words("Yours!", language), timeout=WAIT_MS)
    await expect(ana_page.locator("#buy-box")).to_be_focused()  # the answer takes the focus
    assert ana_page.url == bo_page.url == f"{live_server}/products/{product.id}/line"
    await expect(bo_page.locator("#line-buy-form")).to_have_count(0)
    await expect(bo_page.locator("#line-ahead")).to_have_text(ahead(1, language))
    for page in (ana_page, bo_page):
        assert await page.evaluate("window.__stillHere === true"), "a line page was reloaded"
        await expect(page.locator("html")).to_have_attribute("lang", language)
    assert navigations == []
    for context in contexts:
        await context.close()
    assert found == [], "on the live line page:\n" + "\n".join(found)
