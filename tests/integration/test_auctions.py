"""Auctions on the database this suite runs on: opened once on conversion; bids stored before
they are acknowledged, ranked with ties to the earlier bid, refused with a reason; proxy bids;
the soft close; closing exactly once; winners' orders; giving up and missing the deadline pass the
unit on; paying settles; the inbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from app.auctions import service
from app.auctions.rules import AuctionStatus
from app.models.auctions import Auction, AuctionChange, AuctionResult, Bid, Notification, ResultStatus, StandingBid
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.orders import Order, OrderSource, OrderStatus
from app.payments.service import record_done, start_payment
from tasks.auctions import close_now, pass_over
from tests.helpers.auctions import bid, dispatch_all, end_now, live_auction
from tests.helpers.keys import key


async def standing(app, auction_id: int) -> list[tuple[int, int]]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(
            select(StandingBid.member_id, StandingBid.amount)
            .where(StandingBid.auction_id == auction_id)
            .order_by(StandingBid.amount.desc(), StandingBid.sequence)
        )
        return [tuple(r) for r in rows]


async def results(app, auction_id: int) -> list[tuple[int, int | None, int | None, ResultStatus]]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(
            select(AuctionResult.unit, AuctionResult.member_id, AuctionResult.amount, AuctionResult.status)
            .where(AuctionResult.auction_id == auction_id)
            .order_by(AuctionResult.id)
        )
        return [tuple(r) for r in rows]


async def notices(app, member_id: int) -> list[str]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(
            select(Notification.kind).where(Notification.member_id == member_id).order_by(Notification.id)
        )
        return [k.value for k in rows.scalars()]


async def closed_with(app, auction_id: int, *bidders: tuple[int, int]) -> None:
    """Bids (member id, amount) in this order, then the end comes and the auction closes."""
    for member_id, amount in bidders:
        assert (await bid(app, auction_id, member_id, amount)).accepted
    await end_now(app, auction_id)
    assert await close_now(auction_id)


async def status_of(app, auction_id: int) -> AuctionStatus:
    async with app.state.database.transaction() as db:
        return (await db.get(Auction, auction_id)).status


async def paying(app, member_id: int, *, key_: bool = True):
    """The member's auction order with a payment being confirmed at the gateway."""
    async with app.state.database.transaction() as db:
        order = (await db.execute(select(Order).where(Order.member_id == member_id))).scalar_one()
        payment = await start_payment(db, order)
        payment.status = "in_progress"
        if key_:
            payment.payment_key = f"pk-{payment.id}"
    return order, payment


async def paid(app, member_id: int):
    order, payment = await paying(app, member_id)
    async with app.state.database.transaction() as db:
        assert (await record_done(db, payment.id, method="card", approved_at=utcnow())).state == "paid"
    return order


async def test_conversion_opens_one_auction_for_the_units_left(app, members, products):
    auction = await live_auction(app, members, products, units=3, start=20_000, increment=500, minutes=30)
    assert auction.status is AuctionStatus.LIVE and auction.units == 3
    assert (auction.start_price, auction.increment, auction.duration_seconds) == (20_000, 500, 1800)
    assert timedelta(minutes=29) < auction.ends_at - utcnow() <= timedelta(minutes=30)
    async with app.state.database.transaction() as db:
        again = await service.open_for_product(db, auction.product_id)  # a redelivered event
        assert again.id == auction.id
        assert await db.scalar(select(func.count()).select_from(Auction)) == 1
        moves = (await db.execute(select(AuctionChange.to_status).where(AuctionChange.auction_id == auction.id))).all()
        assert [m[0] for m in moves] == [AuctionStatus.SCHEDULED, AuctionStatus.LIVE]


async def test_bids_are_ranked_ties_go_to_the_earlier_bid_and_refusals_say_why(app, members, products):
    auction = await live_auction(app, members, products, units=2)
    a, b, c = [await members.create() for _ in range(3)]
    assert (await bid(app, auction.id, a.id, 9_999)).message == "Bid at least ₩10,000."
    assert (await bid(app, auction.id, a.id, 10_000)).accepted
    assert (await bid(app, auction.id, b.id, 10_000)).accepted  # fewer than 2 bids stood: the start price
    assert (await bid(app, auction.id, c.id, 10_500)).message == "Bid at least ₩11,000."
    assert (await bid(app, auction.id, a.id, 10_000)).message.startswith("Your bid stands at ₩10,000")
    seller = auction.seller_id
    assert (await bid(app, auction.id, seller, 50_000)).message == "You cannot bid on your own product."
    assert await standing(app, auction.id) == [(a.id, 10_000), (b.id, 10_000)]  # the tie: a was first
    assert (await bid(app, auction.id, c.id, 11_000)).accepted
    assert (await bid(app, auction.id, b.id, 12_000)).accepted  # raising one's own bid
    assert await standing(app, auction.id) == [(b.id, 12_000), (c.id, 11_000), (a.id, 10_000)]
    async with app.state.database.transaction() as db:
        stored = (await db.execute(select(Bid.member_id, Bid.amount).order_by(Bid.sequence))).all()
        assert [tuple(s) for s in stored] == [(a.id, 10_000), (b.id, 10_000), (c.id, 11_000), (b.id, 12_000)]
    assert await notices(app, a.id) == ["outbid"]  # c pushed a out


async def test_a_replayed_bid_counts_once_and_another_members_key_is_refused(app, members, products):
    auction = await live_auction(app, members, products, units=1)
    a, b = await members.create(), await members.create()
    same = key()
    answers = await asyncio.gather(*(bid(app, auction.id, a.id, 15_000, key=same) for _ in range(5)))
    assert all(x.accepted for x in answers) and sum(x.replay for x in answers) == 4
    assert (await bid(app, auction.id, b.id, 20_000, key=same)).accepted is False
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Bid)) == 1


async def test_bids_in_the_same_instant_are_all_stored_in_one_order(app, members, products):
    auction = await live_auction(app, members, products, units=3)
    bidders = [await members.create() for _ in range(12)]
    now = utcnow()
    answers = await asyncio.gather(
        *(bid(app, auction.id, m.id, 10_000 + 1_000 * i, now=now) for i, m in enumerate(bidders))
    )
    accepted = [x for x in answers if x.accepted]
    async with app.state.database.transaction() as db:
        stored = await db.scalar(select(func.count()).select_from(Bid))
        count = (await db.get(Auction, auction.id)).bid_count
        sequences = (await db.execute(select(Bid.sequence).order_by(Bid.sequence))).scalars().all()
    assert stored == len(accepted) == count and list(sequences) == list(range(1, count + 1))
    top = await standing(app, auction.id)
    assert [amount for _, amount in top[:3]] == sorted((a for _, a in top), reverse=True)[:3]


async def test_proxy_bidding_bids_just_enough_up_to_the_maximum(app, members, products):
    auction = await live_auction(app, members, products, units=1, start=10_000, increment=1_000)
    a, b, c = [await members.create() for _ in range(3)]
    first = await bid(app, auction.id, a.id, None, 30_000)  # a maximum only: bids the start price
    assert first.accepted and first.amount == 10_000 and first.maximum == 30_000
    answer = await bid(app, auction.id, b.id, 15_000)
    assert answer.accepted
    assert await standing(app, auction.id) == [(a.id, 16_000), (b.id, 15_000)]  # a raised just past b
    assert (await bid(app, auction.id, c.id, None, 25_000)).accepted  # two proxies settle at once
    assert await standing(app, auction.id) == [(a.id, 26_000), (c.id, 25_000), (b.id, 15_000)]
    assert (await bid(app, auction.id, b.id, 40_000)).accepted  # a manual bid above every maximum
    assert (await standing(app, auction.id))[0] == (b.id, 40_000)
    assert "outbid" in await notices(app, a.id)
    assert (await bid(app, auction.id, c.id, 20_000, 19_000)).message == "Your maximum must be at least your bid."


async def test_a_huge_proxy_war_settles_in_one_step(app, members, products):
    auction = await live_auction(app, members, products, units=1, start=1, increment=1)
    a, b = await members.create(), await members.create()
    assert (await bid(app, auction.id, a.id, None, 9_000_000_000)).accepted
    assert (await bid(app, auction.id, b.id, None, 8_000_000_000)).accepted
    assert await standing(app, auction.id) == [(a.id, 8_000_000_001), (b.id, 8_000_000_000)]


async def test_a_late_bid_extends_the_end_and_an_early_close_does_nothing(app, members, products):
    auction = await live_auction(app, members, products, units=1)
    member = await members.create()
    end = utcnow() + timedelta(seconds=30)
    async with app.state.database.transaction() as db:
        await db.execute(update(Auction).where(Auction.id == auction.id).values(ends_at=end))
    answer = await bid(app, auction.id, member.id, 10_000)
    assert answer.ends_at == end + timedelta(seconds=app.state.settings.auction_extend_seconds)
    assert await close_now(auction.id) is False  # the close message for the old end arrives: nothing
    async with app.state.database.transaction() as db:
        fresh = await db.get(Auction, auction.id)
        assert fresh.status is AuctionStatus.LIVE and fresh.extensions == 1


async def test_closing_happens_once_offers_units_by_rank_and_records_the_unsold(app, members, products):
    auction = await live_auction(app, members, products, units=3)
    a, b = await members.create(), await members.create()
    await bid(app, auction.id, a.id, 12_000)
    await bid(app, auction.id, b.id, 15_000)
    late = await members.create()
    await end_now(app, auction.id)
    assert (await bid(app, auction.id, late.id, 20_000)).message == "This auction has ended."
    closed = await asyncio.gather(*(close_now(auction.id) for _ in range(5)))  # delivered five times
    assert closed.count(True) == 1
    assert await results(app, auction.id) == [
        (1, b.id, 15_000, ResultStatus.OFFERED),
        (2, a.id, 12_000, ResultStatus.OFFERED),
        (3, None, None, ResultStatus.UNSOLD),
    ]
    async with app.state.database.transaction() as db:
        orders = (await db.execute(select(Order).order_by(Order.amount.desc()))).scalars().all()
        assert [(o.member_id, o.amount, o.source, o.status, o.right_id) for o in orders] == [
            (b.id, 15_000, OrderSource.AUCTION, OrderStatus.AWAITING_PAYMENT, None),
            (a.id, 12_000, OrderSource.AUCTION, OrderStatus.AWAITING_PAYMENT, None),
        ]
        pay_window = timedelta(seconds=app.state.settings.auction_pay_seconds)
        assert all(timedelta(0) < o.pay_by - utcnow() <= pay_window for o in orders)
        assert (await db.get(Product, auction.product_id)).status is ProductStatus.ENDED
    assert await notices(app, b.id) == ["won"]


async def test_give_up_and_missed_deadline_pass_the_unit_down_the_ranking(app, members, products):
    auction = await live_auction(app, members, products, units=1)
    a, b, c = [await members.create() for _ in range(3)]
    for member, amount in ((a, 10_000), (b, 11_000), (c, 12_000)):
        assert (await bid(app, auction.id, member.id, amount)).accepted
    await end_now(app, auction.id)
    assert await close_now(auction.id)
    pay_seconds = app.state.settings.auction_pay_seconds
    async with app.state.database.transaction() as db:
        offer = (await db.execute(select(AuctionResult).where(AuctionResult.member_id == c.id))).scalar_one()
        assert await service.release_offer(
            db, offer.id, ResultStatus.GIVEN_UP, reason="given up", pay_seconds=pay_seconds
        )
        assert not await service.release_offer(
            db, offer.id, ResultStatus.GIVEN_UP, reason="again", pay_seconds=pay_seconds
        )
    assert [(m, s) for _, m, _, s in await results(app, auction.id)] == [
        (c.id, ResultStatus.GIVEN_UP),
        (b.id, ResultStatus.OFFERED),
    ]
    assert await notices(app, b.id) == ["outbid", "offered"]
    async with app.state.database.transaction() as db:
        b_order = (await db.execute(select(Order).where(Order.member_id == b.id))).scalar_one()
        assert b_order.amount == 11_000  # at their own bid
        await db.execute(update(Order).where(Order.id == b_order.id).values(pay_by=utcnow() - timedelta(seconds=1)))
    assert await asyncio.gather(pass_over(b_order.id), pass_over(b_order.id)) in ([True, False], [False, True])
    await dispatch_all(app)  # the cancelled orders' events: nothing more to pass on
    assert [(m, s) for _, m, _, s in await results(app, auction.id)] == [
        (c.id, ResultStatus.GIVEN_UP),
        (b.id, ResultStatus.PASSED_OVER),
        (a.id, ResultStatus.OFFERED),
    ]
    async with app.state.database.transaction() as db:
        a_offer = (await db.execute(select(AuctionResult).where(AuctionResult.member_id == a.id))).scalar_one()
        await service.release_offer(db, a_offer.id, ResultStatus.GIVEN_UP, reason="given up", pay_seconds=pay_seconds)
    assert (await results(app, auction.id))[-1] == (1, None, None, ResultStatus.UNSOLD)
    assert await status_of(app, auction.id) is AuctionStatus.SETTLED


async def test_paying_a_won_unit_settles_the_auction(app, members, products):
    auction = await live_auction(app, members, products, units=1)
    winner = await members.create()
    await closed_with(app, auction.id, (winner.id, 30_000))
    await dispatch_all(app)
    await paid(app, winner.id)
    await dispatch_all(app)
    await dispatch_all(app)
    assert (await results(app, auction.id))[0][3] is ResultStatus.PAID
    assert await status_of(app, auction.id) is AuctionStatus.SETTLED


async def test_refunding_a_won_unit_never_returns_it_to_the_fixed_price_stock(app, members, products):
    from app.payments.refunds import complete_refund, request_refund

    auction = await live_auction(app, members, products, units=1)
    winner = await members.create()
    await closed_with(app, auction.id, (winner.id, 30_000))
    order = await paid(app, winner.id)
    async with app.state.database.transaction() as db:
        await db.execute(update(Product).where(Product.id == auction.product_id).values(status=ProductStatus.HIDDEN))
        order = await db.get(Order, order.id)
        refund = await request_refund(db, order, quantity=1, reason="damaged", actor_id=winner.id)
    async with app.state.database.transaction() as db:
        assert await complete_refund(db, refund.id)
    async with app.state.database.transaction() as db:
        assert (await db.get(Order, order.id)).status is OrderStatus.REFUNDED
        assert (await db.get(Product, auction.product_id)).taken_quantity == 2  # the fixed-price units, as sold


async def test_a_failed_payment_passes_the_unit_on(app, members, products):
    from app.payments.service import record_failed

    auction = await live_auction(app, members, products, units=1)
    first, second = await members.create(), await members.create()
    await closed_with(app, auction.id, (second.id, 10_000), (first.id, 20_000))
    _, payment = await paying(app, first.id, key_=False)
    async with app.state.database.transaction() as db:
        assert (await record_failed(db, payment.id, "REJECT_CARD_COMPANY", "Declined.")).state == "failed"
    await dispatch_all(app)
    assert [(m, s) for _, m, _, s in await results(app, auction.id)] == [
        (first.id, ResultStatus.PASSED_OVER),
        (second.id, ResultStatus.OFFERED),
    ]


async def test_the_deadline_reminder_is_sent_once(app, members, products):
    auction = await live_auction(app, members, products, units=1)
    winner = await members.create()
    await bid(app, auction.id, winner.id, 10_000)
    await end_now(app, auction.id)
    assert await close_now(auction.id)
    pay_seconds = app.state.settings.auction_pay_seconds
    later = utcnow() + timedelta(seconds=pay_seconds) - timedelta(minutes=30)
    async with app.state.database.transaction() as db:
        assert await service.remind_deadlines(db, pay_seconds=pay_seconds) == 0  # not yet
        assert await service.remind_deadlines(db, pay_seconds=pay_seconds, now=later) == 1
    async with app.state.database.transaction() as db:
        await service.remind_deadlines(db, pay_seconds=pay_seconds, now=later)
    assert await notices(app, winner.id) == ["won", "deadline"]


async def test_the_sweep_closes_overdue_auctions_and_passes_on_overdue_offers(app, members, products):
    from tasks.auctions import sweep

    auction = await live_auction(app, members, products, units=1)
    a, b = await members.create(), await members.create()
    await bid(app, auction.id, a.id, 10_000)
    await bid(app, auction.id, b.id, 11_000)
    await end_now(app, auction.id)
    await sweep()
    async with app.state.database.transaction() as db:
        assert (await db.get(Auction, auction.id)).status is AuctionStatus.CLOSED
        await db.execute(update(Order).values(pay_by=utcnow() - timedelta(seconds=1)))
    await sweep()
    assert [(m, s) for _, m, _, s in await results(app, auction.id)] == [
        (b.id, ResultStatus.PASSED_OVER),
        (a.id, ResultStatus.OFFERED),
    ]


async def test_an_auction_only_listing_opens_its_auction_at_the_start_time(app, members, products):
    from app.catalog.transitions import open_due_sale

    seller = await members.seller()
    product = await products.create(
        seller,
        status=ProductStatus.SCHEDULED,
        fixed_quantity=0,
        total_quantity=3,
        sale_starts_at=utcnow() - timedelta(seconds=1),
    )
    async with app.state.database.transaction() as db:
        assert await open_due_sale(db, product.id)
    await dispatch_all(app)
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, product.id)).status is ProductStatus.AUCTION_LIVE
        auction = (await db.execute(select(Auction).where(Auction.product_id == product.id))).scalar_one()
        assert auction.units == 3 and auction.status is AuctionStatus.LIVE
