"""axe-core (vendored in tests/browser/vendor) on the main pages of every role, in Korean and in
English, on a wide screen and on a phone: no violation of impact serious or critical. Each
violation is named by its rule id and the elements it found, page by page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers.browser import LANGUAGES, PHONE, axe_violations, language_page, overflow
from tests.helpers.mail import confirm_path, outbox
from tests.helpers.world import main_pages, seeded_world

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

# Pages known to fail today: url → why (none; the checkout, whose colours once failed, has its own test).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_no_serious_violation_on_the_main_pages(
    live_server: str, browser: Browser, app, members, products, language
):
    world = await seeded_world(app, members, products)
    found: list[str] = []
    for role, urls in main_pages(world).items():
        context, page = await language_page(browser, live_server, language, world.emails()[role])
        for url in urls:
            if url in KNOWN:
                continue
            await page.goto(url)
            found += [f"{role} {url}: {v}" for v in await axe_violations(page)]
        await context.close()
    # the header's folded menu on a phone
    context, page = await language_page(browser, live_server, language, world.shopper.email, viewport=PHONE)
    for url in ("/", f"/products/{world.product_id}"):
        await page.goto(url)
        found += [f"phone {url}: {v}" for v in await axe_violations(page)]
        await page.click("details.menu > summary")
        found += [f"phone {url}, menu open: {v}" for v in await axe_violations(page)]
    await context.close()
    assert found == [], "serious or critical axe violations:\n" + "\n".join(found)


async def test_the_seller_application_page(live_server: str, browser: Browser, app, members):
    shopper = await members.create("ana@example.test")
    context, page = await language_page(browser, live_server, "en", shopper.email)
    await page.goto("/seller/apply")
    found = await axe_violations(page)
    await context.close()
    assert found == []


async def test_the_gateway_checkout(live_server: str, browser: Browser, app, members, products):
    world = await seeded_world(app, members, products)
    context, page = await language_page(browser, live_server, "ko", world.shopper.email)
    await page.goto(f"/me/purchases/{world.right_id}/pay")
    await page.click("#pay-button")  # the gateway's hosted checkout, reached by Pay
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    found = await axe_violations(page)
    await context.close()
    assert found == [], found


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_shopper_joins_a_waiting_room_and_its_pages_pass(
    live_server: str, browser: Browser, app, members, products, language
):
    """The product page of a listing sold through a waiting room with its proof-of-work widget, the
    shopper's press of "Join the line" (the widget solves, then sends the form), and the line page
    it leads to, on a phone: no serious or critical violation."""
    from datetime import timedelta

    from app.models.base import utcnow
    from app.models.catalog import ProductStatus, SaleMode

    seller = await members.seller("kiln@example.test")
    shopper = await members.create("min@example.test")
    product = await products.create(
        seller,
        status=ProductStatus.SCHEDULED,
        sale_mode=SaleMode.WAITING_ROOM,
        sale_starts_at=utcnow() + timedelta(minutes=10),  # the line opens 15 minutes before
    )
    context, page = await language_page(browser, live_server, language, shopper.email, viewport=PHONE)
    challenges: list[str] = []
    page.on("request", lambda request: challenges.append(request.url) if "/proof/challenge" in request.url else None)
    await page.goto(f"/products/{product.id}")
    await expect(page.locator("#join-line-form altcha-widget label")).to_be_visible()  # axe sees the widget too
    found = [f"product page: {v}" for v in await axe_violations(page)]
    await page.click("#join-line")
    await page.wait_for_url(f"**/products/{product.id}/line")
    assert len(challenges) == 1  # the join went with a solved challenge
    assert await page.locator("[aria-live=polite]").count() >= 1
    found += [f"line page: {v}" for v in await axe_violations(page)]
    await context.close()
    assert found == [], "serious or critical axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_member_confirms_their_address_on_a_phone_and_its_pages_pass(
    live_server: str, browser: Browser, app, members, language
):
    """An unconfirmed member's account page, its "Send the link again" refused within the minute
    (the message next to the button), the mailed link's page and the account page once confirmed,
    on a phone: each fits 360 px and has no serious or critical violation."""
    member = await members.create("mina@example.test", confirmed=False)
    (mail,) = await outbox(app, member.email, kind="email_confirm")
    context, page = await language_page(browser, live_server, language, member.email, viewport=PHONE)
    found: list[str] = []

    async def check(name: str) -> None:
        found.extend(f"{name}: {v}" for v in await axe_violations(page))
        if wide := await overflow(page):
            found.append(f"{name}: {wide}")

    await page.goto("/me")
    await check("account page, not confirmed")
    await page.click("#confirm-resend button")
    await page.wait_for_selector("#e-confirmation:not(:empty)")
    await check("account page, asked too soon")
    await page.goto(confirm_path(mail.body))
    await check("confirmation page")
    await page.click("#confirm-form button")
    await page.wait_for_url("**/me")
    await page.wait_for_selector("#confirm-status .badge-approved")
    await check("account page, confirmed")
    await context.close()
    assert (await members.get(member.id)).email_confirmed_at is not None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_shopper_enters_a_draw_and_its_pages_fit_a_phone_and_pass(
    live_server: str, browser: Browser, app, members, products, language
):
    """The product page of a draw, the shopper's press of "Enter the draw", and the draw's page it
    leads to, before and after the draw (its seed, hashes and command are long unbroken words), on a
    phone: none wider than the screen, no serious or critical violation."""
    from tests.helpers.browser import overflow
    from tests.helpers.draws import draw_on_sale, enter, make

    product = await draw_on_sale(app, members, products, units=1)
    shopper = await members.create("min@example.test")
    for _ in range(3):
        await enter(app, await members.create(), product.id)
    context, page = await language_page(browser, live_server, language, shopper.email, viewport=PHONE)
    await page.goto(f"/products/{product.id}")
    found = [f"product page: {v}" for v in await axe_violations(page)]
    await page.click("#draw-enter")
    await page.wait_for_url(f"**/products/{product.id}/draw")
    found += [f"draw page, open: {v}" for v in await axe_violations(page)]
    found += [f"draw page, open: {wide}"] if (wide := await overflow(page)) else []
    await make(app, product.id)
    await page.reload()
    assert await page.locator("#draw-seed").count() == 1
    found += [f"draw page, drawn: {v}" for v in await axe_violations(page)]
    found += [f"draw page, drawn: {wide}"] if (wide := await overflow(page)) else []
    await page.goto(f"/products/{product.id}")
    found += [f"product page, drawn: {wide}"] if (wide := await overflow(page)) else []
    await context.close()
    assert found == [], "\n".join(found)
