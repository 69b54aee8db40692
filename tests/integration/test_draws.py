"""A draw on the database: members enter once, each refusal says why and writes nothing; the draw
is made once however often it is asked, its winners are ``draw_rules.draw`` over the entry ids and
get held rights written as a Buy batch writes them, every entrant is told; a winner's unpaid unit
cascades to the next entry in draw order, and to the auction when none is left; the stock
never oversells and its ledger always adds up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.catalog.transitions import transition
from app.drops import draw_results
from app.drops.draw_making import due_draws
from app.drops.draw_rules import commitment, draw
from app.drops.draws import EntryRefused
from app.drops.entry_rules import Refusal
from app.drops.purchases import give_up
from app.drops.stock import pay_right, release_right
from app.events.topics import Topic
from app.models.auctions import Auction, Notification, NotificationKind
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockEntry, StockReason
from app.models.events import OutboxEvent
from app.models.members import Member
from app.models.status import StatusChange
from tasks.drops import draw_now
from tests.helpers.config import with_settings
from tests.helpers.draws import SEED, aged, draw_on_sale, draw_soon, enter, entries, make, stock
from tests.helpers.drops import expire_now
from tests.helpers.mail import outbox
from tests.helpers.tables import count
from tests.helpers.waiting import wait_for


async def entrants(app, product_id: int, n: int, members) -> list[int]:
    """``n`` new members enter; their entry ids."""
    ids = []
    for _ in range(n):
        ids.append((await enter(app, await members.create(), product_id)).entry.id)
    return ids


async def notices(app, kind: NotificationKind) -> dict[int, str]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(select(Notification.member_id, Notification.text).where(Notification.kind == kind))
        return dict(rows.all())


async def by_id(app, product_id: int) -> dict[int, DrawEntry]:
    return {entry.id: entry for entry in await entries(app, product_id)}


# ------------------------------------------------------------------------------------ entering


async def test_a_member_enters_once_however_often_they_ask(app, members, products):
    product = await draw_on_sale(app, members, products)
    member = await members.create()
    first = await enter(app, member, product.id)
    again = await enter(app, member, product.id)
    assert first.new and not again.new and again.entry.id == first.entry.id
    racing = await asyncio.gather(*(enter(app, member, product.id) for _ in range(5)))
    assert {entered.entry.id for entered in racing} == {first.entry.id}
    [entry] = await entries(app, product.id)
    assert (entry.member_id, entry.status, entry.place, entry.right_id) == (member.id, EntryStatus.ENTERED, None, None)
    async with app.state.database.transaction() as db:
        history = (await db.execute(select(StatusChange).where(StatusChange.aggregate == "draw_entry"))).scalars()
        assert [(h.entity_id, h.from_status, h.to_status) for h in history] == [(entry.id, None, "entered")]


@pytest.mark.parametrize(
    ("case", "why", "status_code"),
    [
        ("seller", Refusal.OWN_PRODUCT, 403),
        ("unconfirmed", Refusal.UNCONFIRMED, 403),
        ("too young", Refusal.TOO_YOUNG, 403),
        ("not open yet", Refusal.NOT_OPEN, 409),
        ("closed", Refusal.CLOSED, 409),
        ("drawn", Refusal.CLOSED, 409),
    ],
)
async def test_each_refusal_says_why_and_writes_nothing(app, members, products, case, why, status_code):
    days = 30 if case == "too young" else 0
    if case == "not open yet":
        product = await draw_soon(members, products, min_days=days)
    else:
        product = await draw_on_sale(app, members, products, min_days=days)
    member = await aged(app, await members.create(confirmed=case != "unconfirmed"), 10 if case == "too young" else 31)
    later = timedelta(0)
    if case == "seller":
        member = await members.get(product.seller_id)
    elif case == "closed":
        later = timedelta(hours=1, seconds=1)
    elif case == "drawn":
        await make(app, product.id)
    with pytest.raises(EntryRefused) as refused:
        await enter(app, member, product.id, later=later)
    assert (refused.value.why, refused.value.status_code) == (why, status_code)
    assert refused.value.message
    assert await count(app, DrawEntry) == 0


async def test_the_account_age_counts_from_sign_up(app, members, products):
    product = await draw_on_sale(app, members, products, min_days=30)
    young = await aged(app, await members.create(), 29)
    with pytest.raises(EntryRefused) as refused:
        await enter(app, young, product.id)
    assert "30 days" in refused.value.message
    old_enough = await aged(app, await members.create(), 30)
    assert (await enter(app, old_enough, product.id)).new
    assert [entry.member_id for entry in await entries(app, product.id)] == [old_enough.id]


# ---------------------------------------------------------------------------------------- the draw


async def test_the_draw_gives_held_rights_to_the_draw_rules_winners(app, members, products):
    product = await draw_on_sale(app, members, products, units=3)
    ids = await entrants(app, product.id, 8, members)
    made = await make(app, product.id)
    expected = draw(SEED, ids, 3)
    assert made == expected and len(made.winners) == 3

    drawn = await by_id(app, product.id)
    assert [drawn[e].place for e in expected.order] == list(range(1, 9))
    assert {e for e, entry in drawn.items() if entry.status is EntryStatus.WON} == set(expected.winners)
    assert {e for e, entry in drawn.items() if entry.status is EntryStatus.NOT_DRAWN} == set(expected.order[3:])
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        assert fresh.drawn_at is not None and fresh.draw_units == 3
        assert fresh.status is ProductStatus.CONVERSION_PENDING  # every unit went to a winner
        for entry_id in expected.winners:
            right = await db.get(PurchaseRight, drawn[entry_id].right_id)
            assert (right.member_id, right.status, right.unit_price) == (
                drawn[entry_id].member_id,
                RightStatus.HELD,
                50_000,
            )
            hold = app.state.settings.purchase_hold_seconds
            assert timedelta(seconds=hold - 30) < right.expires_at - utcnow() <= timedelta(seconds=hold)
            [history] = (
                await db.execute(select(PurchaseRightChange).where(PurchaseRightChange.right_id == right.id))
            ).scalars()
            assert (history.from_status, history.to_status) == (None, RightStatus.HELD)
        granted = await db.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == Topic.RIGHT_GRANTED.value)
        )
        assert granted == 3
    seen = await stock(app, product.id)
    assert seen.consistent and seen.taken == 3 and seen.rights == {RightStatus.HELD: 3}

    won, left_behind = await notices(app, NotificationKind.DRAW_WON), await notices(app, NotificationKind.NOT_DRAWN)
    assert set(won) == {drawn[e].member_id for e in expected.winners}
    assert set(left_behind) == {drawn[e].member_id for e in expected.order[3:]}
    fourth = drawn[expected.order[3]]
    assert (
        f"#{fourth.id}" in left_behind[fourth.member_id]
        and "number 4 in the draw order" in left_behind[fourth.member_id]
    )


async def test_the_draw_is_made_once_however_often_it_is_asked(app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    await entrants(app, product.id, 5, members)
    assert await make(app, product.id, later=timedelta(minutes=59)) is None  # the window is still open
    made = await asyncio.gather(*(make(app, product.id) for _ in range(4)))
    assert sum(result is not None for result in made) == 1
    assert await make(app, product.id) is None
    seen = await stock(app, product.id)
    assert seen.consistent and seen.rights == {RightStatus.HELD: 2}
    assert len(await notices(app, NotificationKind.DRAW_WON)) == 2


async def test_fewer_entries_than_units_all_win_and_the_rest_goes_to_the_auction(app, members, products):
    product = await draw_on_sale(app, members, products, units=5)
    ids = await entrants(app, product.id, 2, members)
    assert (await make(app, product.id)).winners == tuple(draw(SEED, ids, 5).order)
    seen = await stock(app, product.id)
    assert seen.consistent and (seen.fixed, seen.taken, seen.ledger) == (2, 2, 0)
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        assert fresh.status is ProductStatus.CONVERSION_PENDING and fresh.auction_quantity == 3


async def test_a_draw_nobody_entered_is_made_and_publishes_nothing_but_its_seed(app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    made = await make(app, product.id)
    assert made is not None and made.order == () and made.winners == ()
    async with app.state.database.transaction() as db:
        results = await draw_results.results(db, await db.get(Product, product.id), 1)
    assert results.seed == SEED and results.commitment_ok and results.winners == [] and results.ids.total == 0
    seen = await stock(app, product.id)
    assert seen.consistent and (seen.fixed, seen.ledger) == (0, 0)  # both units went to the auction


async def test_the_sweep_makes_the_draws_whose_message_was_lost(app, members, products):
    product = await draw_on_sale(app, members, products, units=1, draw_ends_at=utcnow() + timedelta(seconds=1))
    other = await draw_on_sale(app, members, products, units=1)  # its window is still open
    await entrants(app, product.id, 2, members)
    await asyncio.sleep(1.1)
    async with app.state.database.transaction() as db:
        assert await due_draws(db) == [product.id]
    assert await draw_now(product.id) is True
    assert await draw_now(product.id) is False
    async with app.state.database.transaction() as db:
        assert await due_draws(db) == []
        assert (await db.get(Product, other.id)).drawn_at is None
    assert (await stock(app, product.id)).rights == {RightStatus.HELD: 1}


async def test_a_draw_is_scheduled_when_its_sale_opens_and_made_at_the_window_end(client, app, members, products):
    """Nobody acts: the sale opens at its start (a delayed message), the opening schedules the draw
    for the window's end (another), and the draw is made then."""
    seller = await members.seller()
    starts = utcnow() + timedelta(seconds=1)
    product = await products.create(
        seller,
        status=ProductStatus.DRAFT,
        fixed_quantity=1,
        total_quantity=1,
        sale_starts_at=starts,
        sale_mode=SaleMode.DRAW,
        draw_ends_at=starts + timedelta(seconds=3),
        draw_seed=SEED,
        draw_commitment=commitment(SEED),
    )
    async with app.state.database.transaction() as db:
        await transition(db, await db.get(Product, product.id), ProductStatus.SCHEDULED, reason="listed")
    app.state.background.wake()

    async def on_sale() -> bool:
        async with app.state.database.transaction() as db:
            return (await db.get(Product, product.id)).status is ProductStatus.ON_SALE

    await wait_for(on_sale, 10, "the sale to open")
    member = await members.create()
    assert (await enter(app, member, product.id)).new

    async def drawn() -> bool:
        async with app.state.database.transaction() as db:
            return (await db.get(Product, product.id)).drawn_at is not None

    await wait_for(drawn, 10, "the draw to be made")
    [entry] = await entries(app, product.id)
    assert entry.status is EntryStatus.WON and entry.place == 1


# ------------------------------------------------------------------------------------ the cascade


async def test_an_expired_winners_unit_goes_to_the_next_entry_in_draw_order(app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    ids = await entrants(app, product.id, 5, members)
    order = draw(SEED, ids, 2).order
    await make(app, product.id)
    first = (await by_id(app, product.id))[order[0]]
    await expire_now(app, first.right_id)

    drawn = await by_id(app, product.id)
    assert drawn[order[0]].status is EntryStatus.WON  # its right lapsed; it is never offered again
    offered = drawn[order[2]]
    assert offered.status is EntryStatus.OFFERED and offered.right_id is not None
    assert [drawn[e].status for e in order[3:]] == [EntryStatus.NOT_DRAWN] * 2
    async with app.state.database.transaction() as db:
        right = await db.get(PurchaseRight, offered.right_id)
        assert right.status is RightStatus.HELD and right.member_id == offered.member_id
        assert right.expires_at - utcnow() > timedelta(seconds=app.state.settings.purchase_hold_seconds - 30)
        assert (await db.get(Product, product.id)).status is ProductStatus.CONVERSION_PENDING  # never back on sale
    seen = await stock(app, product.id)
    assert seen.consistent and seen.taken == 2 and seen.rights == {RightStatus.HELD: 2, RightStatus.EXPIRED: 1}
    assert set(await notices(app, NotificationKind.DRAW_OFFERED)) == {offered.member_id}

    async with app.state.database.transaction() as db:  # a second delivery of the expiry changes nothing
        assert await release_right(db, first.right_id, RightStatus.EXPIRED, StockReason.EXPIRY) is None
    assert [e.status for e in (await by_id(app, product.id)).values()].count(EntryStatus.OFFERED) == 1


async def test_a_given_up_unit_cascades_and_once_no_entry_is_left_it_goes_to_the_auction(app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    ids = await entrants(app, product.id, 3, members)
    order = draw(SEED, ids, 2).order
    await make(app, product.id)
    drawn = await by_id(app, product.id)
    async with app.state.database.transaction() as db:
        gave_up = await give_up(db, drawn[order[0]].member_id, drawn[order[0]].right_id)
    assert gave_up.done and "next entry" in gave_up.message
    offered = (await by_id(app, product.id))[order[2]]
    assert offered.status is EntryStatus.OFFERED

    await expire_now(app, drawn[order[1]].right_id)  # nobody is left to offer it to
    seen = await stock(app, product.id)
    assert seen.consistent and (seen.fixed, seen.taken, seen.ledger) == (1, 1, 0)
    assert seen.rights == {RightStatus.HELD: 1, RightStatus.CANCELLED: 1, RightStatus.EXPIRED: 1}
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, product.id)).status is ProductStatus.CONVERSION_PENDING  # never on sale
        conversion = await db.scalar(
            select(func.count()).where(StockEntry.product_id == product.id, StockEntry.reason == StockReason.CONVERSION)
        )
        assert conversion == 1
        await pay_right(db, offered.right_id)  # the last right held is paid: the rest converts
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, product.id)).status is ProductStatus.AUCTION_LIVE
        auction = await db.scalar(select(Auction).where(Auction.product_id == product.id))
        assert auction is not None and auction.units == 1


@pytest.mark.parametrize(
    ("entered", "status"), [(1, ProductStatus.CONVERSION_PENDING), (0, ProductStatus.AUCTION_LIVE)]
)
async def test_units_no_entry_can_take_go_to_the_auction_at_the_draw(app, members, products, entered, status):
    product = await draw_on_sale(app, members, products, units=3)
    await entrants(app, product.id, entered, members)
    result = await make(app, product.id)
    assert result is not None and len(result.winners) == entered
    seen = await stock(app, product.id)
    assert seen.consistent and (seen.fixed, seen.taken, seen.ledger) == (entered, entered, 0)
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        assert fresh.status is status and fresh.draw_units == 3  # the draw's own record is kept
        auction = await db.scalar(select(Auction).where(Auction.product_id == product.id))
        assert (auction.units if auction else None) == (3 if entered == 0 else None)


async def test_two_winners_expiring_at_once_go_to_two_different_entries(app, members, products):
    product = await draw_on_sale(app, members, products, units=2)
    ids = await entrants(app, product.id, 6, members)
    order = draw(SEED, ids, 2).order
    await make(app, product.id)
    drawn = await by_id(app, product.id)
    await asyncio.gather(*(expire_now(app, drawn[e].right_id) for e in order[:2]))
    after = await by_id(app, product.id)
    assert [after[e].status for e in order] == [EntryStatus.WON] * 2 + [EntryStatus.OFFERED] * 2 + [
        EntryStatus.NOT_DRAWN
    ] * 2
    seen = await stock(app, product.id)
    assert seen.consistent and seen.rights == {RightStatus.HELD: 2, RightStatus.EXPIRED: 2}


async def test_the_results_list_every_entry_id_a_page_at_a_time(app, members, products):
    product = await draw_on_sale(app, members, products, units=1)
    ids = await entrants(app, product.id, 5, members)
    await make(app, product.id)
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        pages = [await draw_results.results(db, fresh, number, size=2) for number in (1, 2, 3)]
        text = await draw_results.entry_ids_text(db, fresh)
    assert [page.ids.items for page in pages] == [ids[:2], ids[2:4], ids[4:]]
    assert pages[0].ids.pages == 3 and text == "".join(f"{i}\n" for i in ids)
    assert [o.entry_id for o in pages[0].winners] == list(draw(SEED, ids, 1).winners)


async def test_a_winner_who_asked_for_mail_gets_one_with_the_link_to_pay(app, members, products):
    product = await draw_on_sale(app, members, products, units=1)
    winner = await members.create()
    async with app.state.database.transaction() as db:
        await db.execute(update(Member).where(Member.id == winner.id).values(email_notices=True))
    await enter(app, winner, product.id)
    await make(app, product.id)
    [entry] = await entries(app, product.id)
    [mail] = await outbox(app, winner.email)
    assert mail.kind == "draw_won" and mail.subject == f"You won the draw for {product.name}"
    assert f"/me/purchases/{entry.right_id}/pay" in mail.body and f"entry #{entry.id}" in mail.body


@with_settings("one-second-hold", purchase_hold_seconds=1)
async def test_unpaid_rights_expire_by_themselves_and_their_unit_goes_down_the_order(client, app, members, products):
    """Nobody acts: the winner's right expires at its deadline (the message its grant scheduled),
    its unit goes to the next entry, whose right expires in turn, and with nobody left the unit
    goes to the auction, which opens."""
    product = await draw_on_sale(app, members, products, units=1)
    ids = await entrants(app, product.id, 2, members)
    order = draw(SEED, ids, 1).order
    await make(app, product.id)
    app.state.background.wake()

    async def back_in_stock() -> bool:
        return (await stock(app, product.id)).rights == {RightStatus.EXPIRED: 2}

    await wait_for(back_in_stock, 15, "both rights to expire")
    drawn = await by_id(app, product.id)
    assert [drawn[e].status for e in order] == [EntryStatus.WON, EntryStatus.OFFERED]
    seen = await stock(app, product.id)
    assert seen.consistent and (seen.fixed, seen.taken, seen.ledger) == (0, 0, 0)
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, product.id)).status is ProductStatus.AUCTION_LIVE
