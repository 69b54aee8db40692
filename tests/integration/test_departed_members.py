"""A member suspended or withdrawn gives back what they hold, once the status move's event is
handled: a first-come unit goes back on sale (its order is cancelled), a draw's to the next entry in
draw order, and an unused waiting-room admission ends, letting the next place in; a right already
paid stays, a member active again keeps theirs, and handling the event twice changes nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.service import set_member_status
from app.drops.draw_rules import draw
from app.drops.service import Press
from app.drops.stock import ledger_sum, pay_right
from app.events.dispatch import dispatch
from app.events.topics import Topic
from app.models.catalog import Product
from app.models.draws import EntryStatus
from app.models.drops import PurchaseRight, RightStatus
from app.models.events import OutboxEvent
from app.models.members import Member, MemberStatus
from app.models.orders import Order, OrderStatus
from tests.helpers.auctions import dispatch_all
from tests.helpers.draws import SEED, draw_on_sale, enter, entries, make
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key
from tests.helpers.lines import START, admitted, at, issue, join_all, room_on_sale

LEFT = [MemberStatus.SUSPENDED, MemberStatus.WITHDRAWN]


async def leave(app, members, member: Member, status: MemberStatus) -> None:
    """``member`` moved to ``status`` by an administrator (the first one made, or the one already there)."""
    async with app.state.database.transaction() as db:
        admin = await db.scalar(select(Member).where(Member.email == "root@example.test"))
    admin = admin or await members.admin()
    async with app.state.database.transaction() as db:
        await set_member_status(db, await db.get(Member, member.id), status, actor=admin, reason="bought for resale")


async def rights_of(app, member_id: int) -> dict[int, RightStatus]:
    async with app.state.database.transaction() as db:
        rows = await db.execute(
            select(PurchaseRight.id, PurchaseRight.status).where(PurchaseRight.member_id == member_id)
        )
        return dict(rows.all())


async def fixed_left(app, product_id: int) -> tuple[int, int]:
    """(units left for sale, the ledger's sum): always equal."""
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        return product.fixed_left, await ledger_sum(db, product_id)


@pytest.mark.parametrize("status", LEFT)
async def test_a_departed_members_held_rights_go_back_on_sale_and_paid_ones_stay(app, members, products, status):
    first = await on_sale(app, members, products, fixed=3, limit=1)
    second = await on_sale(app, members, products, fixed=3, limit=1)
    member = await members.create()
    drop = service(app)
    held = await drop.press(Press(first.id, member.id, key()))
    paid = await drop.press(Press(second.id, member.id, key()))
    async with app.state.database.transaction() as db:
        await pay_right(db, paid.right_id)
    assert await fixed_left(app, first.id) == (2, 2)
    await dispatch_all(app)  # the orders are made

    await leave(app, members, member, status)
    await dispatch_all(app)

    assert await rights_of(app, member.id) == {held.right_id: RightStatus.CANCELLED, paid.right_id: RightStatus.PAID}
    assert await fixed_left(app, first.id) == (3, 3)  # the unit is on sale again
    async with app.state.database.transaction() as db:  # and its order, made when it was granted, is off
        assert await db.scalar(select(Order.status).where(Order.right_id == held.right_id)) is OrderStatus.CANCELLED
    assert await fixed_left(app, second.id) == (2, 2)
    other = await members.create()
    assert (await drop.press(Press(first.id, other.id, key()))).right_id is not None

    async with app.state.database.transaction() as db:  # a second delivery changes nothing
        topic = Topic.MEMBER_SUSPENDED if status is MemberStatus.SUSPENDED else Topic.MEMBER_WITHDRAWN
        event_id = await db.scalar(select(OutboxEvent.id).where(OutboxEvent.topic == topic))
    await dispatch(app.state.database, event_id)
    assert await fixed_left(app, first.id) == (2, 2)
    assert (await rights_of(app, member.id))[held.right_id] is RightStatus.CANCELLED


async def test_a_suspended_winners_unit_goes_to_the_next_entry_in_draw_order(app, members, products):
    product = await draw_on_sale(app, members, products, units=1)
    ids = [(await enter(app, await members.create(), product.id)).entry.id for _ in range(3)]
    order = draw(SEED, ids, 1).order
    await make(app, product.id)
    by_id = {entry.id: entry for entry in await entries(app, product.id)}
    winner = await members.get(by_id[order[0]].member_id)

    await leave(app, members, winner, MemberStatus.SUSPENDED)
    await dispatch_all(app)

    by_id = {entry.id: entry for entry in await entries(app, product.id)}
    assert await rights_of(app, winner.id) == {by_id[order[0]].right_id: RightStatus.CANCELLED}
    offered = by_id[order[1]]
    assert offered.status is EntryStatus.OFFERED
    assert (await rights_of(app, offered.member_id)) == {offered.right_id: RightStatus.HELD}
    assert by_id[order[2]].status is EntryStatus.NOT_DRAWN


async def test_a_member_active_again_when_the_event_is_handled_keeps_their_right(app, members, products):
    product = await on_sale(app, members, products, fixed=2)
    member = await members.create()
    held = await service(app).press(Press(product.id, member.id, key()))
    await leave(app, members, member, MemberStatus.SUSPENDED)
    await leave(app, members, member, MemberStatus.ACTIVE)  # lifted before the worker got to it
    await dispatch_all(app)
    assert await rights_of(app, member.id) == {held.right_id: RightStatus.HELD}
    assert await fixed_left(app, product.id) == (1, 1)


async def test_a_suspended_members_unused_admission_lets_the_next_place_in(app, members, products):
    product = await room_on_sale(app, members, products, fixed=2, rate=6000)
    crowd = [await members.create() for _ in range(4)]
    await join_all(app, crowd, product.id, START - timedelta(minutes=15))
    assert await issue(app, product.id, at(1)) == 2  # places 1 and 2: one unit each
    assert await issue(app, product.id, at(2)) == 0
    first = (await admitted(app, product.id))[0]

    await leave(app, members, await members.get(first.member_id), MemberStatus.SUSPENDED)
    await dispatch_all(app)

    assert await issue(app, product.id, at(3)) == 1  # place 3 takes the unit place 1 held
    assert [row.place for row in await admitted(app, product.id)] == [1, 2, 3]
