"""A live auction in the browser, from the first bid to its units paid or passed on.

Two members bid against each other (and against a third who bids off-screen): each page follows
the other's bids, the minimum next bid and its own position over SSE without a reload. A late bid
pushes the end back (soft close) and the app schedules the close itself; the live server's worker
closes it and both pages turn to the closed state live. The winner of unit 1 pays in the sandbox
checkout and the seller sees the unit paid; the winner of unit 2 gives it up and it is offered to
the next bidder. In Korean and in English: the steps find their controls by id, role or address; a
sentence is compared whole in English and by its amounts in Korean (pages are translated under it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select, update

from app.auctions.bidding import BidRequest, BidService
from app.auctions.controllers import after_batch
from app.auctions.rules import AuctionStatus
from app.models.auctions import Auction, AuctionResult, ResultStatus
from app.models.base import utcnow
from app.models.orders import Order, OrderStatus
from tests.helpers.auctions import bid, live_auction
from tests.helpers.browser import LANGUAGES, language_page, pay_with_the_approve_card, words
from tests.helpers.keys import key

pytestmark = pytest.mark.browser

EXTEND_SECONDS = 3
WAIT_MS = 10_000  # the longest a live update may take (a close waits for the end, up to 2 × EXTEND_SECONDS)


@pytest.fixture
def settings(settings):
    # a short soft close, so the late bid's extension (and the close it schedules) come quickly
    return settings.with_changes(auction_extend_seconds=EXTEND_SECONDS)


async def _says(locator: Locator, language: str, english: str, part: str, *, whole: bool = False) -> None:
    """``locator`` says ``english`` (in English: exactly, or containing it); in Korean it contains
    ``part``, the sentence's words that do not change with the language (an amount, a rank)."""
    if language == "en":
        await (expect(locator).to_have_text(english) if whole else expect(locator).to_contain_text(english))
    else:
        await expect(locator).to_contain_text(part)


async def _watching(page: Page, auction_id: int) -> None:
    """Open the auction page and wait until its event stream is connected and has sent the state."""
    await page.goto(f"/auctions/{auction_id}")
    await expect(page.locator("#auction-stream")).to_have_attribute("data-live", "connected")


def _live(page: Page) -> Locator:
    return page.locator("#auction-state .auction-live")


def _position(page: Page) -> Locator:
    return page.locator("#my-position [data-position]")


async def _place_bid(page: Page, amount: int) -> None:
    await page.fill("#amount", str(amount))
    await page.click("#bid-box button.bid-button")
    await expect(page.locator("#my-position")).to_contain_text(f"₩{amount:,}")
    await expect(page.locator("#my-position")).to_be_focused()  # the answer's region, which live updates keep


async def _sees(page: Page, *, bids: int, minimum: int, top: list[str]) -> None:
    """The shared state as the page shows it: bid count, minimum next bid, the top bids in order."""
    live = _live(page)
    await expect(live).to_have_attribute("data-bids", str(bids))
    await expect(live).to_have_attribute("data-minimum", str(minimum))
    await expect(live.locator("#auction-minimum")).to_have_text(f"₩{minimum:,}")
    await expect(live.locator("#top-bids tbody tr")).to_have_text(top)


async def _bids_and_is_followed(page: Page, amount: int, other: Page, *, bids: int, top: list[str], then: str) -> None:
    """``page`` bids ``amount`` and is winning; ``other`` follows live (``amount`` is the minimum next
    bid now) and shows its own position ``then``."""
    await _place_bid(page, amount)
    await expect(_position(page)).to_have_attribute("data-position", "winning")
    await _sees(other, bids=bids, minimum=amount, top=top)
    await expect(_position(other)).to_have_attribute("data-position", then)


async def _result_of(app, auction_id: int, member_id: int) -> tuple[AuctionResult, Order]:
    async with app.state.database.transaction() as db:
        result = (
            await db.execute(
                select(AuctionResult).where(
                    AuctionResult.auction_id == auction_id, AuctionResult.member_id == member_id
                )
            )
        ).scalar_one()
        order = await db.get(Order, result.order_id)
        assert order is not None
        return result, order


@pytest.mark.parametrize("language", LANGUAGES)
async def test_two_bidders_follow_each_other_live_then_one_pays_and_one_gives_up(
    live_server: str, browser: Browser, app, members, products, language
):
    ana = await members.create("ana@example.test", display_name="Ana")
    bo = await members.create("bo@example.test", display_name="Bo")
    cy = await members.create("cy@example.test", display_name="Cy")
    auction = await live_auction(app, members, products, units=2, start=10_000, increment=1_000, minutes=60)
    seller = await members.get(auction.seller_id)
    assert (await bid(app, auction.id, cy.id, 10_000)).accepted

    ctx_a, page_a = await language_page(browser, live_server, language, "ana@example.test")
    ctx_b, page_b = await language_page(browser, live_server, language, "bo@example.test")
    await _watching(page_a, auction.id)
    await _watching(page_b, auction.id)
    for page in (page_a, page_b):
        await _sees(page, bids=1, minimum=10_000, top=["1C•••₩10,000"])
        await expect(_position(page)).to_have_attribute("data-position", "none")
    await page_b.evaluate("window.__stillHere = true")
    await page_a.evaluate("window.__stillHere = true")

    # A bids; B's page follows
    await _bids_and_is_followed(page_a, 11_000, page_b, bids=2, top=["1A•••₩11,000", "2C•••₩10,000"], then="none")

    # B bids higher; A's page follows, A keeps a unit
    await _bids_and_is_followed(page_b, 12_000, page_a, bids=3, top=["1B•••₩12,000", "2A•••₩11,000"], then="winning")
    await _says(_position(page_a), language, "rank 2", "2")

    # C, off-screen, bids over both: A is pushed out, live
    placed = await BidService(app.state.database, app.state.settings.auction_extend_seconds, after_batch).place(
        BidRequest(auction.id, cy.id, 13_000, None, key())
    )
    assert placed.accepted, placed.message
    await expect(_position(page_a)).to_have_attribute("data-position", "outbid")
    await _says(_position(page_a), language, "Outbid — bid at least ₩13,000", "₩13,000")
    await _sees(page_a, bids=4, minimum=13_000, top=["1C•••₩13,000", "2B•••₩12,000"])
    await expect(_position(page_b)).to_have_attribute("data-position", "winning")

    # A comes back: now B is pushed out
    await _bids_and_is_followed(page_a, 14_000, page_b, bids=5, top=["1A•••₩14,000", "2C•••₩13,000"], then="outbid")

    # The end draws near; B's late bid pushes it back (soft close) and the app schedules the close
    soon = utcnow() + timedelta(seconds=EXTEND_SECONDS)
    async with app.state.database.transaction() as db:
        await db.execute(update(Auction).where(Auction.id == auction.id).values(ends_at=soon))
    await _bids_and_is_followed(page_b, 15_000, page_a, bids=6, top=["1B•••₩15,000", "2A•••₩14,000"], then="winning")
    async with app.state.database.transaction() as db:
        extended = await db.get(Auction, auction.id)
        assert extended is not None and extended.extensions == 1
        assert extended.ends_at == soon + timedelta(seconds=EXTEND_SECONDS)
    await expect(_live(page_a).locator("#auction-ends time")).to_have_attribute(
        "datetime", extended.ends_at.replace(microsecond=0).isoformat()
    )

    # The live server's worker closes it at the new end: both pages turn, live
    for page, won in (
        (page_a, "You won a unit at ₩14,000 (rank 2). Pay by the deadline to keep it."),
        (page_b, "You won a unit at ₩15,000 (rank 1). Pay by the deadline to keep it."),
    ):
        await expect(_live(page)).to_have_attribute("data-status", "closed", timeout=WAIT_MS)
        await expect(_live(page).locator(".badge")).to_have_text(words("Closed", language, whole=True))
        await expect(_position(page)).to_have_attribute("data-position", "won")
        await _says(_position(page), language, won, won.split(" at ", 1)[1].split(" ", 1)[0], whole=True)
        assert await page.evaluate("window.__stillHere === true"), "a bidder's page was reloaded"
    async with app.state.database.transaction() as db:
        closed = await db.get(Auction, auction.id)
        assert closed is not None and closed.status is AuctionStatus.CLOSED
        assert closed.closed_at is not None and closed.closed_at >= extended.ends_at
    result_b, order_b = await _result_of(app, auction.id, bo.id)
    result_a, order_a = await _result_of(app, auction.id, ana.id)
    assert (result_b.unit, result_b.amount, result_b.status) == (1, 15_000, ResultStatus.OFFERED)
    assert (result_a.unit, result_a.amount, result_a.status) == (2, 14_000, ResultStatus.OFFERED)

    # B pays for unit 1 in the sandbox checkout (the result and its links arrived live)
    my_result = page_b.locator("#my-result")
    await _says(my_result, language, "Unit 1 at ₩15,000: Offered — waiting for payment.", "₩15,000")
    await my_result.locator(f"a[href='/orders/{order_b.id}']").first.click()
    await page_b.wait_for_url(f"**/orders/{order_b.id}")
    await pay_with_the_approve_card(page_b, "₩15,000", language)

    # The seller sees unit 1 paid (the order's event reaches the auction through the worker)
    ctx_s, page_s = await language_page(browser, live_server, language, seller.email)
    await page_s.goto(f"/seller/auctions/{auction.id}")
    unit_1 = page_s.locator("#results tbody tr").filter(has_text="Bo")
    for _ in range(40):
        if await unit_1.get_attribute("class") == "result-paid":
            break
        await page_s.wait_for_timeout(250)
        await page_s.reload()
    await expect(unit_1).to_have_class("result-paid")
    await expect(unit_1).to_contain_text(words("Paid", language))
    await _says(unit_1, language, f"#{order_b.id} Paid", f"#{order_b.id}")
    await expect(page_s.locator("#results tbody tr").filter(has_text="Ana")).to_have_class("result-offered")
    if language == "en":
        await expect(page_s.locator("main")).to_contain_text("extended 1 time by late bids")

    # A gives unit 2 up: it passes to C, the next bidder
    await _says(page_a.locator("#my-result"), language, "Unit 2 at ₩14,000: Offered — waiting for payment.", "₩14,000")
    await page_a.locator(f"#my-result a[href='/auctions/{auction.id}/give-up']").click()
    await page_a.wait_for_url(f"**/auctions/{auction.id}/give-up")
    await _says(page_a.locator("main"), language, "You won unit 2 at ₩14,000", "₩14,000")
    await page_a.click("#confirm-give-up")
    await page_a.wait_for_url(f"**/auctions/{auction.id}")
    gave_up = "You gave up the unit; it passes to the next bidder."
    await expect(page_a.locator(".flash-success")).to_contain_text(words(gave_up, language))
    await _says(page_a.locator("#my-result"), language, "Unit 2 at ₩14,000: Given up.", "₩14,000")
    await _says(_position(page_a), language, "You gave up the unit you won at ₩14,000.", "₩14,000", whole=True)

    result_a, order_a = await _result_of(app, auction.id, ana.id)
    assert result_a.status is ResultStatus.GIVEN_UP
    assert order_a.status is OrderStatus.CANCELLED
    result_c, order_c = await _result_of(app, auction.id, cy.id)
    assert (result_c.unit, result_c.rank, result_c.amount, result_c.status) == (2, 3, 13_000, ResultStatus.OFFERED)
    assert order_c.status is OrderStatus.AWAITING_PAYMENT and order_c.amount == 13_000
    result_b, order_b = await _result_of(app, auction.id, bo.id)
    assert result_b.status is ResultStatus.PAID and order_b.status is OrderStatus.PAID
    async with app.state.database.transaction() as db:
        still = await db.get(Auction, auction.id)
        assert still is not None and still.status is AuctionStatus.CLOSED  # unit 2 still waits on C

    await page_s.reload()
    await expect(page_s.locator("#results tbody tr").filter(has_text="Cy")).to_have_class("result-offered")
    await expect(page_s.locator("#results tbody tr").filter(has_text="Ana")).to_have_class("result-given_up")

    for context in (ctx_a, ctx_b, ctx_s):
        await context.close()
