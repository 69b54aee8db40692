"""Auction pages through the app: the bidding page, bids by htmx and by plain form, every kind of
bad input answered next to the field with nothing stored, the live stream (current state first,
then each new bid, with the member's own position), giving up, the member's bids, the seller's
results and the inbox with its live badge."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.models.auctions import AuctionResult, Bid, ResultStatus
from app.models.orders import Order, OrderStatus
from tasks.auctions import close_now
from tests.helpers.auctions import bid, dispatch_all, end_now, live_auction
from tests.helpers.keys import key
from tests.helpers.streams import sse_events as stream_events
from tests.helpers.web import HTMX, field_error, login, place, post_form, second_browser, signed_in


async def stored_bids(app) -> int:
    async with app.state.database.transaction() as db:
        return await db.scalar(select(func.count()).select_from(Bid))


async def sse_events(client, path: str, until, *, during=None, limit: float = 8.0) -> list[tuple[str, str]]:
    """The server-sent events of ``path`` up to the first list ``until`` accepts (tests.helpers.streams)."""
    _start, events = await stream_events(client, path, until, during=during, limit=limit)
    return events


async def test_the_bidding_page_shows_the_state_and_asks_visitors_to_sign_in(client, app, members, products):
    auction = await live_auction(app, members, products, units=2, start=10_000, increment=1_000)
    await bid(app, auction.id, (await members.create()).id, 12_000)
    r = await client.get(f"/auctions/{auction.id}")
    assert r.status_code == 200
    assert "₩12,000" in r.text and 'id="auction-minimum">₩10,000' in r.text  # one of two units still free
    assert f'sse-connect="/auctions/{auction.id}/events"' in r.text
    assert 'id="sign-in-to-bid"' in r.text and 'name="amount"' not in r.text
    assert (await client.get("/auctions/999999")).status_code == 404
    redirect = await client.get(f"/products/{auction.product_id}/auction")
    assert redirect.status_code == 303 and redirect.headers["location"] == f"/auctions/{auction.id}"
    product_page = await client.get(f"/products/{auction.product_id}")
    assert f"/products/{auction.product_id}/auction" in product_page.text


async def test_a_bid_by_htmx_and_by_plain_form(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    member = await signed_in(client, members)
    r = await place(client, auction.id, "₩10,000")
    assert r.status_code == 200 and "Your bid of ₩10,000 is in." in r.text
    assert 'data-position="winning"' in r.text
    r = await place(client, auction.id, "15000", htmx=False)
    assert r.status_code == 303 and r.headers["location"] == f"/auctions/{auction.id}"
    page = await client.get(f"/auctions/{auction.id}")
    assert "Your bid of ₩15,000 is in." in page.text and "Winning at ₩15,000" in page.text
    history = await client.get("/me/bids")
    assert history.status_code == 200 and history.text.count("₩15,000") >= 1 and "₩10,000" in history.text
    assert member.id is not None and await stored_bids(app) == 2


async def test_bad_bids_are_answered_next_to_the_field_and_store_nothing(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    await signed_in(client, members)
    cases = [
        ("abc", "", "amount", "whole won"),
        ("12.5", "", "amount", "whole won"),
        ("99999999999999999999", "", "amount", "are not accepted"),
        ("²", "", "amount", "whole won"),  # str.isdigit() says yes, int() refuses
        ("١٢٠٠٠", "", "amount", "whole won"),  # int() reads Arabic-Indic digits
        ("１２０００", "", "amount", "whole won"),  # and full-width ones
        ("12000", "1²", "maximum", "whole won"),
        ("9000", "", "amount", "Bid at least ₩10,000."),
        ("", "", "amount", "Enter a bid"),
        ("12000", "11000", "amount", "maximum must be at least your bid"),
        ("", "lots", "maximum", "whole won"),
    ]
    for amount, maximum, field, message in cases:
        r = await place(client, auction.id, amount, maximum=maximum)
        assert r.status_code == 422, (amount, maximum)
        assert message in field_error(r.text, field), (amount, r.text)
        if amount:
            assert f'value="{amount}"' in r.text  # what was typed is kept
    assert await stored_bids(app) == 0
    r = await place(client, auction.id, "10000", key_="not a key!")
    assert r.status_code == 422 and "expired" in field_error(r.text, "amount")
    r = await post_form(client, f"/auctions/{auction.id}/bids", {"amount": "10000", "key": key()}, headers=HTMX)
    assert r.status_code == 200
    assert (await place(client, 999_999, "10000")).status_code == 404
    anonymous = await client.post(f"/auctions/{auction.id}/bids", data={"amount": "20000"})
    assert anonymous.status_code == 403  # no CSRF token: refused before anything else


async def test_a_form_sent_twice_counts_once(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    await signed_in(client, members)
    same = key()
    first = await place(client, auction.id, "20000", key_=same)
    again = await place(client, auction.id, "20000", key_=same)
    assert first.status_code == again.status_code == 200
    assert "counted once" in again.text and await stored_bids(app) == 1


async def test_the_seller_and_a_closed_auction_refuse_bids(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    async with app.state.database.transaction() as db:
        from app.models.members import Member

        seller = await db.get(Member, auction.seller_id)
    await login(client, seller.email)
    page = await client.get(f"/auctions/{auction.id}")
    assert 'id="seller-note"' in page.text and 'name="amount"' not in page.text
    r = await place(client, auction.id, "50000")
    assert r.status_code == 422 and "your own product" in field_error(r.text, "amount")
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        await end_now(app, auction.id)
        r = await place(other, auction.id, "50000")
        assert r.status_code == 422 and "ended" in field_error(r.text, "amount")
    assert await stored_bids(app) == 0


async def test_the_stream_sends_the_current_state_first_then_each_new_bid(client, app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    watcher = await signed_in(client, members)
    await bid(app, auction.id, watcher.id, 10_000)

    async def rival_bids() -> None:
        async with second_browser(client) as other:
            await login(other, (await members.create()).email)
            assert (await place(other, auction.id, "14000")).status_code == 200

    def after_the_rivals_bid(events) -> bool:
        return len(events) >= 2 and events[-1][0] == "position" and 'data-bids="2"' in events[-2][1]

    events = await sse_events(client, f"/auctions/{auction.id}/events", after_the_rivals_bid, during=rival_bids)
    (first, first_html), (pos, pos_html) = events[:2]
    (second, second_html), (pos2, pos2_html) = events[-2:]
    assert (first, pos, second, pos2) == ("state", "position", "state", "position")
    assert "₩10,000" in first_html and 'data-bids="1"' in first_html and "Winning at ₩10,000" in pos_html
    assert 'data-bids="2"' in second_html and "₩15,000" in second_html  # the new minimum
    assert 'data-position="outbid"' in pos2_html and "bid at least ₩15,000" in pos2_html
    assert (await client.get("/auctions/424242/events")).status_code == 404


async def test_winners_give_up_with_confirmation_and_the_seller_sees_results(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    winner = await signed_in(client, members)
    runner_up = await members.create()
    await bid(app, auction.id, runner_up.id, 10_000)
    await bid(app, auction.id, winner.id, 11_000)
    await end_now(app, auction.id)
    assert await close_now(auction.id)
    stale = await place(client, auction.id, "99000")  # a form left open across the close
    assert stale.status_code == 422 and 'id="bid-refused"' in stale.text and "not taking bids" in stale.text
    events = await sse_events(client, f"/auctions/{auction.id}/events", lambda e: len(e) >= 2)
    assert [name for name, _ in events[:2]] == ["state", "closed"]
    assert 'data-status="closed"' in events[0][1] and "Pay now" in events[1][1] and 'name="amount"' not in events[1][1]
    page = await client.get(f"/auctions/{auction.id}")
    assert "You won a unit at ₩11,000 (rank 1)" in page.text and f"/auctions/{auction.id}/give-up" in page.text
    confirm = await client.get(f"/auctions/{auction.id}/give-up")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    r = await post_form(client, f"/auctions/{auction.id}/give-up")
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        rows = (await db.execute(select(AuctionResult).order_by(AuctionResult.id))).scalars().all()
        assert [(x.member_id, x.status) for x in rows] == [
            (winner.id, ResultStatus.GIVEN_UP),
            (runner_up.id, ResultStatus.OFFERED),
        ]
        orders = {o.member_id: o.status for o in (await db.execute(select(Order))).scalars()}
        assert orders == {winner.id: OrderStatus.CANCELLED, runner_up.id: OrderStatus.AWAITING_PAYMENT}
    again = await post_form(client, f"/auctions/{auction.id}/give-up")
    assert again.status_code == 303 and (await client.get(again.headers["location"])).status_code == 200
    assert (await client.get(f"/auctions/{auction.id}/give-up")).status_code == 404
    async with app.state.database.transaction() as db:
        from app.models.members import Member

        seller = await db.get(Member, auction.seller_id)
    async with second_browser(client) as seller_browser:
        await login(seller_browser, seller.email)
        listing = await seller_browser.get("/seller/auctions")
        assert listing.status_code == 200 and f"/seller/auctions/{auction.id}" in listing.text
        results = await seller_browser.get(f"/seller/auctions/{auction.id}")
        assert "Given up" in results.text and "Offered — waiting for payment" in results.text
        assert runner_up.display_name in results.text
    other_seller = await members.seller()
    async with second_browser(client) as stranger:
        await login(stranger, other_seller.email)
        assert (await stranger.get(f"/seller/auctions/{auction.id}")).status_code == 404
    assert (await client.get(f"/seller/auctions/{auction.id}")).status_code == 403


async def test_the_inbox_lists_notices_and_the_badge_counts_them_live(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    member = await signed_in(client, members)
    empty = await client.get("/me/notifications")
    assert empty.status_code == 200 and "Nothing here yet" in empty.text
    await bid(app, auction.id, member.id, 10_000)

    async def outbid_me() -> None:
        async with second_browser(client) as other:
            await login(other, (await members.create()).email)
            assert (await place(other, auction.id, "20000")).status_code == 200

    events = await sse_events(
        client, "/me/notifications/events", lambda e: any("unread-count" in d for _, d in e), during=outbid_me
    )
    assert events[0][0] == "badge" and "unread-count" not in events[0][1]
    assert events[-1][0] == "badge" and 'id="unread-count">1<' in events[-1][1]
    inbox = await client.get("/me/notifications")
    assert "You were outbid" in inbox.text and "unread" in inbox.text
    notice_id = re.search(r'id="notification-(\d+)"', inbox.text).group(1)
    opened = await post_form(client, f"/me/notifications/{notice_id}/open")
    assert opened.status_code == 303 and opened.headers["location"] == f"/auctions/{auction.id}"
    await dispatch_all(app)
    assert 'class="notification notification-outbid unread"' not in (await client.get("/me/notifications")).text
    async with second_browser(client) as stranger:
        await login(stranger, (await members.create()).email)
        assert (await post_form(stranger, f"/me/notifications/{notice_id}/open")).status_code == 404
    assert (await post_form(client, "/me/notifications/read")).status_code == 303


async def test_a_member_suspended_meanwhile_cannot_bid_and_is_signed_out(client, app, members, products):
    auction = await live_auction(app, members, products, units=1)
    member = await signed_in(client, members)
    await members.suspend(member, reason="shill bidding")
    r = await place(client, auction.id, "50000")
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/login")
    assert await stored_bids(app) == 0
    assert (await client.get("/me")).status_code == 303  # the session was signed out


async def test_a_live_update_shows_the_viewers_own_zone(client, app, members, products):
    """The hub renders the shared fragment once per language, in the shop's zone; a viewer who
    chose another zone gets the update rendered in theirs, with its name."""
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    await signed_in(client, members)
    await post_form(client, "/me/place", {"language": "en", "time_zone": "Asia/Tokyo"})

    async def rival_bids() -> None:
        async with second_browser(client) as other:
            await login(other, (await members.create()).email)
            assert (await place(other, auction.id, "12000")).status_code == 200

    def after_the_rival(events) -> bool:
        return any(name == "state" and 'data-bids="1"' in data for name, data in events)

    events = await sse_events(client, f"/auctions/{auction.id}/events", after_the_rival, during=rival_bids)
    states = [data for name, data in events if name == "state"]
    assert len(states) >= 2 and all(" JST" in data and " KST" not in data for data in states)
