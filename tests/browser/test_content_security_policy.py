"""The shop's pages under its Content-Security-Policy in Chromium: the main pages of a visitor, a
shopper (Buy, the live stock and auction streams, a bid, the sandbox checkout paid and cancelled),
a seller and an admin load and work without one violation reported in the console or as a
``securitypolicyviolation`` event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from app.models.base import utcnow
from app.models.catalog import ProductStatus
from tests.helpers.auctions import live_auction
from tests.helpers.browser import VIOLATION, pay_with_the_approve_card, policy_watched_context, sign_in

pytestmark = pytest.mark.browser


async def visit(page: Page, url: str) -> None:
    """Open ``url``: it answers with the policy, and everything it loads has loaded."""
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    policy = await response.header_value("content-security-policy")
    assert policy and "script-src 'self'" in policy, url
    await page.wait_for_load_state("load")


async def visit_all(page: Page, urls: list[str], violations: list[str]) -> None:
    for url in urls:
        await visit(page, url)
        assert violations == [], url


async def _product(products, seller, name: str, price: int):
    return await products.create(
        seller,
        name=name,
        status=ProductStatus.ON_SALE,
        list_price=price,
        fixed_quantity=3,
        total_quantity=3,
        purchase_limit=1,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )


async def _buy_and_open_its_order(page: Page, product_id: int, *, by_link: bool = False) -> None:
    if by_link:  # htmx swaps the page in and keeps the <body> (its hx-headers) it started with
        await page.click(f"a[href='/products/{product_id}']")
        await page.wait_for_url(f"**/products/{product_id}")
    else:
        await page.goto(f"/products/{product_id}")
    await expect(page.locator("#live-stock")).to_have_attribute("data-live", "connected")
    await page.click("#buy-box button[type=submit]")
    await expect(page.locator(".buy-yours")).to_contain_text("Yours!")
    await page.click("text=Pay now")


async def test_the_watch_reports_a_violation(live_server: str, browser: Browser):
    """The watch itself: a picture from elsewhere, refused by the policy, is reported."""
    context, violations = await policy_watched_context(browser, live_server)
    page = await context.new_page()
    await visit(page, "/")
    await page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<img src="http://192.0.2.1/x.png">')""")
    for _ in range(50):  # the browser's own message and the event's
        if len(violations) >= 2:
            break
        await page.wait_for_timeout(100)
    event = [v for v in violations if v.startswith(VIOLATION)]
    console = [v for v in violations if not v.startswith(VIOLATION)]
    assert len(event) == 1 and "img-src refused http://192.0.2.1/x.png" in event[0], violations
    assert len(console) == 1 and "Content Security Policy directive" in console[0], violations
    await context.close()


async def test_a_visitor_and_a_shopper_see_no_violation(live_server: str, browser: Browser, app, members, products):
    from tests.helpers.drops import open_sale

    seller = await members.seller()
    paid, cancelled = (
        await _product(products, seller, "Print A", 12_000),
        await _product(products, seller, "Print B", 9_000),
    )
    for product in (paid, cancelled):
        await open_sale(app, product.id)
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    await members.create("ana@example.test")
    context, violations = await policy_watched_context(browser, live_server)
    page = await context.new_page()

    await visit_all(
        page, ["/", "/categories", "/search?q=print", f"/products/{paid.id}", "/signup", "/login"], violations
    )
    await page.fill("#f-email", "someone@example.test")  # the live e-mail check (HTMX) on sign-up
    await visit(page, f"/auctions/{auction.id}")
    await expect(page.locator("#auction-stream")).to_have_attribute("data-live", "connected")

    await sign_in(page, "ana@example.test")  # a new CSRF token: the next press, from the page as it is, sends it
    await _buy_and_open_its_order(page, paid.id, by_link=True)
    await pay_with_the_approve_card(page, "₩12,000")  # the sandbox checkout and its success return
    order_url = page.url
    await _buy_and_open_its_order(page, cancelled.id)
    await page.click("#pay-button")
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    await page.click("button.cancel")  # the fail return
    await expect(page.locator(".flash-error").first).to_be_visible()

    await visit(page, f"/auctions/{auction.id}")
    await expect(page.locator("#auction-stream")).to_have_attribute("data-live", "connected")
    await page.fill("#amount", "10000")
    await page.click("#bid-box button.bid-button")
    await expect(page.locator("#my-position")).to_contain_text("₩10,000")
    await visit_all(
        page,
        ["/me", "/me/purchases", "/me/bids", "/me/notifications", "/orders", order_url, f"{order_url}/refund"],
        violations,
    )
    await visit_all(page, ["/seller/apply", "/me/withdraw"], violations)
    assert violations == []
    await context.close()


async def test_a_seller_and_an_admin_see_no_violation(live_server: str, browser: Browser, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    seller = await members.get(auction.seller_id)
    admin = await members.admin()
    context, violations = await policy_watched_context(browser, live_server)
    page = await context.new_page()

    await sign_in(page, seller.email)
    product = f"/seller/products/{auction.product_id}"
    seller_pages = ["/seller", "/seller/products", f"{product}/stock", "/seller/auctions", "/seller/settlements"]
    await visit_all(page, [*seller_pages, f"/seller/auctions/{auction.id}"], violations)
    await expect(page.locator("#auction-state")).to_have_attribute("data-live", "connected")
    await visit(page, "/seller/products/new")

    await page.click("button:has-text('Sign out')")
    await expect(page.locator("a[href='/login']")).to_be_visible()
    await sign_in(page, admin.email)
    admin_pages = ["/admin", "/admin/sellers", "/admin/members", "/admin/categories", "/admin/products"]
    more = [f"/admin/products/{auction.product_id}", f"/admin/products/{auction.product_id}/stock"]
    await visit_all(page, [*admin_pages, *more, "/admin/payments", "/admin/policies", "/admin/events"], violations)
    assert violations == []
    await context.close()
