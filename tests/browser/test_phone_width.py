"""Every page of every role on a 360 × 800 phone, in Korean and in English: none is wider than the
screen (``document.documentElement.scrollWidth`` ≤ 360), the gateway's checkout included. The
header's menu folds on the phone and opens without JavaScript; on a wide screen it is always open."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers.browser import DESKTOP, LANGUAGES, PHONE, language_page, overflow
from tests.helpers.world import World, fill, page_routes, seeded_world

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


async def too_wide(page: Page, urls: list[str], role: str) -> list[str]:
    """The pages among ``urls`` (as ``role``) wider than the phone, each with what sticks out."""
    found = []
    for url in urls:
        await page.goto(url)
        if wrong := await overflow(page):
            found.append(f"{role} {url} (shown {page.url.split('/', 3)[-1]}): {wrong}")
    return found


async def checkout_too_wide(page: Page, world: World) -> list[str]:
    """The shopper presses Pay on their unpaid unit: the gateway's checkout page fits as well."""
    await page.goto(f"/me/purchases/{world.right_id}/pay")
    await page.click("#pay-button")
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    wrong = await overflow(page)
    return [f"shopper, the gateway's checkout: {wrong}"] if wrong else []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_fits_a_phone(live_server: str, browser: Browser, app, members, products, language):
    world = await seeded_world(app, members, products)
    urls = [fill(route, world) for route in page_routes(app)]
    wide: list[str] = []
    for role, email in world.emails().items():
        context, page = await language_page(browser, live_server, language, email, viewport=PHONE)
        wide += await too_wide(page, urls, role)
        if role == "shopper":
            wide += await checkout_too_wide(page, world)
        await context.close()
    assert wide == [], "pages wider than 360 px:\n" + "\n".join(wide)


async def test_the_menu_folds_on_a_phone_and_opens_without_javascript(live_server: str, browser: Browser):
    context, page = await language_page(browser, live_server, "en", viewport=PHONE, java_script_enabled=False)
    await page.goto("/")
    menu = page.locator("details.menu")
    await expect(menu.locator("a[href='/login']")).to_be_hidden()
    await menu.locator("summary").click()
    await expect(menu.locator("a[href='/login']")).to_be_visible()
    assert await overflow(page) is None
    box = await menu.locator("summary").bounding_box()
    assert box is not None and box["height"] >= 44, box

    await page.set_viewport_size(DESKTOP)
    await page.goto("/")
    await expect(menu.locator("summary")).to_be_hidden()
    await expect(menu.locator("a[href='/login']")).to_be_visible()  # open on a wide screen, unasked
    await context.close()


async def test_the_buy_and_bid_controls_fill_a_phone(live_server: str, browser: Browser, app, members, products):
    world = await seeded_world(app, members, products)
    for email, url, button in (  # a member who holds nothing yet sees Buy; the shopper pays their unit
        (world.applicant.email, f"/products/{world.product_id}", "#buy-box button[type=submit]"),
        (world.applicant.email, f"/auctions/{world.auction_id}", "#bid-box button[type=submit]"),
        (world.shopper.email, f"/me/purchases/{world.right_id}/pay", "#pay-button"),
    ):
        context, page = await language_page(browser, live_server, "ko", email, viewport=PHONE)
        await page.goto(url)
        box = await page.locator(button).bounding_box()
        assert box is not None, url
        assert box["height"] >= 44 and box["width"] >= 280, (url, box)  # the width of the content
        await context.close()
