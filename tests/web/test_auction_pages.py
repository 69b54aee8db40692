"""The auction page's rough edges: the countdown rendered by the server (never "ends soon"), the
minimum next bid explained for several units and shown as the placeholder, the outbid state in
place of the "your bid is in" box, the page after the close, the product's description, and the
page in Korean with its times in KST."""

from __future__ import annotations

import re

from tasks.auctions import close_now
from tests.helpers.auctions import bid, dispatch_all, end_now, live_auction
from tests.helpers.web import place, signed_in


async def test_an_auction_two_days_away_shows_its_time_left_not_ends_soon(client, app, members, products):
    auction = await live_auction(app, members, products, minutes=2 * 24 * 60 + 5)
    r = await client.get(f"/auctions/{auction.id}")
    assert "ends soon" not in r.text
    assert re.search(r'data-ends="[^"]+"[^>]*>ends in (1 day 23 hours|2 days)<', r.text), r.text


async def test_the_minimum_is_explained_for_several_units_and_is_the_placeholder(client, app, members, products):
    auction = await live_auction(app, members, products, units=2, start=10_000, increment=1_000)
    await bid(app, auction.id, (await members.create()).id, 35_000)
    await bid(app, auction.id, (await members.create()).id, 40_000)
    await signed_in(client, members)
    r = await client.get(f"/auctions/{auction.id}")
    assert "2 units: the lowest winning bid is ₩35,000, so bid at least ₩36,000." in r.text
    assert 'placeholder="36,000"' in r.text


async def test_being_outbid_replaces_the_your_bid_is_in_box(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    await signed_in(client, members)
    r = await place(client, auction.id, "10000")
    box = r.text[r.text.index('id="my-position"') :]
    box = box[: box.index("</div>")]
    assert "Your bid of ₩10,000 is in." in box  # inside the region the position event replaces
    await bid(app, auction.id, (await members.create()).id, 20_000)
    page = await client.get(f"/auctions/{auction.id}")
    assert 'data-position="outbid"' in page.text and "is in." not in page.text
    assert 'aria-live="assertive"' in page.text and 'role="alert"' in page.text


async def test_after_the_close_the_heading_says_ended_and_the_deadline_is_stated(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    member = await signed_in(client, members)
    await bid(app, auction.id, member.id, 15_000)
    await end_now(app, auction.id)
    await close_now(auction.id)
    await dispatch_all(app)
    r = await client.get(f"/auctions/{auction.id}")
    heading = re.search(r"<h1>(.*?)</h1>", r.text, re.S).group(1)
    assert "live auction" not in heading and "auction ended" in heading
    assert "Winners pay by" in r.text
    assert "KST" in r.text
    assert "A numbered limited edition." in r.text  # the product's description


async def test_the_auction_page_in_korean_with_times_in_kst(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    r = await client.get(f"/auctions/{auction.id}", headers={"Accept-Language": "ko"})
    assert '<html lang="ko"' in r.text and "실시간 경매" in r.text and "시작가" in r.text
    await end_now(app, auction.id)
    await close_now(auction.id)
    r = await client.get(f"/auctions/{auction.id}", headers={"Accept-Language": "ko"})
    assert "경매 종료" in r.text and "KST" in r.text
