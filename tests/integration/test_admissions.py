"""A waiting room's admissions on the database: issued in line order at the rate, never more at once
than the units left less those outstanding, once per place however often or concurrently issuing
runs; an admission that expires unused frees its unit for the next place; and the door spends an
admission once, for its own member and product, lets the press it was used with through again and
refuses everything else. When the units are gone admission stops and everyone waiting is told;
when a unit comes back the line moves on in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.drops import admissions
from app.drops.admissions import REFUSALS, admission_secret
from app.drops.line_rules import Admission as Signed
from app.drops.line_rules import Entry, sign_admission
from app.drops.rules import Outcome
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.lines import Admission
from tests.helpers.drops import service
from tests.helpers.keys import key
from tests.helpers.lines import (
    START,
    admission_count,
    admitted,
    at,
    door,
    expire,
    issue,
    join_all,
    line_of,
    pass_of,
    places,
    press,
    room_on_sale,
    standing,
)

OPEN = START - timedelta(minutes=15)


async def a_line(app, members, products, people: int, joined_at=OPEN, **room):
    product = await room_on_sale(app, members, products, **room)
    crowd = [await members.create() for _ in range(people)]
    await join_all(app, crowd, product.id, joined_at)
    return product, crowd


async def set_status(app, product_id: int, status: ProductStatus) -> None:
    """As if the sale had moved on (its own tests cover how it does)."""
    async with app.state.database.transaction() as db:
        await db.execute(update(Product).where(Product.id == product_id).values(status=status))


async def in_line_order(app, product_id: int) -> list[int]:
    by_place = {place: member for member, place in (await places(app, product_id)).items()}
    return [by_place[n] for n in sorted(by_place)]


# Issuing


async def test_admissions_are_issued_in_line_order_at_the_rate(app, members, products):
    product, _crowd = await a_line(app, members, products, 10, fixed=8, rate=6)  # one place every 10 s
    assert await issue(app, product.id, at(0)) == 1
    assert await issue(app, product.id, at(9.9)) == 0
    assert await issue(app, product.id, at(25)) == 2  # places 2 and 3
    order = await in_line_order(app, product.id)
    rows = await admitted(app, product.id)
    assert [(row.place, row.member_id) for row in rows] == [(n, order[n - 1]) for n in (1, 2, 3)]
    minutes = timedelta(minutes=app.state.settings.admission_minutes)
    assert [row.expires_at for row in rows] == [at(0) + minutes, at(25) + minutes, at(25) + minutes]
    assert all(row.used_at is None and row.press_key is None for row in rows)
    assert len({row.nonce for row in rows}) == 3
    assert (await line_of(app, product.id)).admitted == 3


async def test_the_shop_rate_applies_when_the_listing_sets_none(app, members, products):
    product, _crowd = await a_line(app, members, products, 4, fixed=10)
    assert app.state.settings.admission_rate_per_minute >= 4 * 60
    assert await issue(app, product.id, at(1)) == 4  # the whole line within a second


async def test_admissions_never_outrun_the_units_left_less_those_outstanding(app, members, products):
    product, _crowd = await a_line(app, members, products, 9, fixed=3, rate=6000)
    assert await issue(app, product.id, at(0)) == 1  # the rate's first place
    assert await issue(app, product.id, at(5)) == 2  # the rate allows 9: the units only 3
    assert await issue(app, product.id, at(60)) == 0  # all three are outstanding
    assert await admission_count(app, product.id) == 3


async def test_an_admission_that_expires_unused_frees_its_unit_for_the_next_place(app, members, products):
    product, _crowd = await a_line(app, members, products, 5, fixed=2, rate=6000)
    assert await issue(app, product.id, at(1)) == 2
    expiry = at(1) + timedelta(minutes=app.state.settings.admission_minutes)
    assert await issue(app, product.id, expiry - timedelta(seconds=1)) == 0
    assert await issue(app, product.id, expiry) == 2
    assert [row.place for row in await admitted(app, product.id)] == [1, 2, 3, 4]


async def test_a_used_admission_holds_its_unit_until_its_press_is_answered(app, members, products):
    product, _crowd = await a_line(app, members, products, 3, fixed=1, rate=6000)
    drops = service(app)
    assert await issue(app, product.id, at(0)) == 1
    first = (await admitted(app, product.id))[0]
    token = (await pass_of(app, product.id, first.member_id)).token
    k = key()
    assert (await door(app, token, first.member_id, product.id, k, at(5))).admitted
    assert await issue(app, product.id, at(6)) == 0  # spent, its press not decided yet: still held
    result = await press(drops, product.id, first.member_id, k, at(6), admitted=True)
    assert result.outcome is Outcome.GRANTED
    assert await issue(app, product.id, at(7)) == 0  # the unit is taken now
    gone = await standing(app, await members.get((await in_line_order(app, product.id))[1]), product.id, at(8))
    assert gone is not None and gone.sold_out and not gone.turn
    await expire(app, result.right_id, at(7) + timedelta(days=1))  # not paid: the unit comes back
    back = await standing(app, await members.get((await in_line_order(app, product.id))[1]), product.id, at(700))
    assert back is not None and back.turn and not back.sold_out
    assert back.admission is not None and back.admission.live(at(700)) and back.admission.place == 2


async def test_issuing_twice_or_at_once_admits_each_place_once(app, members, products):
    product, _crowd = await a_line(app, members, products, 12, fixed=20, rate=60)
    counts = await asyncio.gather(*(issue(app, product.id, at(4.5)) for _ in range(6)))
    assert sum(counts) == 5  # places 1..5 by 4.5 s at one a second
    assert sorted(counts, reverse=True)[1:] == [0] * 5
    again = await asyncio.gather(*(issue(app, product.id, at(9.5)) for _ in range(6)))
    assert sum(again) == 5
    rows = await admitted(app, product.id)
    assert [row.place for row in rows] == list(range(1, 11))
    assert len({row.member_id for row in rows}) == 10


async def test_nothing_is_issued_before_the_start_or_outside_a_waiting_room(app, members, products):
    product, _crowd = await a_line(app, members, products, 3)
    assert await issue(app, product.id, at(-1)) == 0
    plain = await products.create(await members.seller(), sale_starts_at=START, sale_mode=SaleMode.FIRST_COME)
    assert await issue(app, plain.id, at(60)) == 0
    assert await admission_count(app, product.id) == 0


async def test_a_sale_whose_start_passed_admits_before_its_opening_but_an_ended_one_does_not(app, members, products):
    late, _a = await a_line(app, members, products, 2, status=ProductStatus.SCHEDULED)
    ended, _b = await a_line(app, members, products, 2)
    await set_status(app, ended.id, ProductStatus.ENDED)
    assert await issue(app, late.id, at(1)) == 2
    assert await issue(app, ended.id, at(1)) == 0


async def test_the_loop_admits_every_waiting_room_on_sale(app, members, products):
    one, _a = await a_line(app, members, products, 3, fixed=10)
    two, _b = await a_line(app, members, products, 2, fixed=10)
    later, _c = await a_line(app, members, products, 2, OPEN + timedelta(hours=1), sale_starts_at=at(3600))
    assert await admissions.issue_all_due(app.state.database, app.state.settings, at(1)) == 5
    assert [await admission_count(app, p.id) for p in (one, two, later)] == [3, 2, 0]
    assert await admissions.issue_all_due(app.state.database, app.state.settings, at(2)) == 0


# The door


async def admitted_pair(app, members, products, **room):
    product, _crowd = await a_line(app, members, products, 2, **room)
    await issue(app, product.id, at(0))
    first = (await admitted(app, product.id))[0]
    return product, first, (await pass_of(app, product.id, first.member_id)).token


async def row_of(app, admission_id: int) -> Admission:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(Admission).where(Admission.id == admission_id))).scalar_one()


async def test_an_admission_is_spent_once_and_its_own_press_is_let_through_again(app, members, products):
    product, first, token = await admitted_pair(app, members, products)
    k = key()
    assert await door(app, token, first.member_id, product.id, k, at(5)) == admissions.Door(admitted=True)
    row = await row_of(app, first.id)
    assert (row.used_at, row.press_key) == (at(5), k)
    assert (await door(app, token, first.member_id, product.id, k, at(6))).admitted  # the same press again
    other = await door(app, token, first.member_id, product.id, key(), at(6))
    assert not other.admitted and other.refusal == REFUSALS[Entry.USED]
    assert (await row_of(app, first.id)).press_key == k


async def test_two_presses_at_once_spend_it_once(app, members, products):
    product, first, token = await admitted_pair(app, members, products)
    keys = [key() for _ in range(8)]
    doors = await asyncio.gather(*(door(app, token, first.member_id, product.id, k, at(5)) for k in keys))
    assert sum(d.admitted for d in doors) == 1
    winner = keys[[d.admitted for d in doors].index(True)]
    assert (await row_of(app, first.id)).press_key == winner


async def test_another_members_or_products_or_a_forged_token_is_told_to_join_the_line(app, members, products):
    product, first, token = await admitted_pair(app, members, products)
    other_room, _other, _token = await admitted_pair(app, members, products)
    someone = await members.create()
    secret = admission_secret(app.state.settings)
    row = await row_of(app, first.id)
    forged = sign_admission(b"not the shop's secret", Signed(first.member_id, product.id, row.expires_at, row.nonce))
    unknown = sign_admission(secret, Signed(first.member_id, product.id, row.expires_at, "a-nonce-never-issued"))
    for member_id, product_id, t in [
        (someone.id, product.id, token),
        (first.member_id, other_room.id, token),
        (first.member_id, product.id, forged),
        (first.member_id, product.id, unknown),
        (first.member_id, product.id, token[:-3] + "xyz"),
        (first.member_id, product.id, "garbage"),
    ]:
        got = await door(app, t, member_id, product_id, key(), at(5))
        assert got == admissions.Door(refusal=REFUSALS[Entry.UNKNOWN]), (member_id, product_id, t)
    assert (await row_of(app, first.id)).used_at is None


async def test_an_expired_admission_is_refused_and_stays_unused(app, members, products):
    product, first, token = await admitted_pair(app, members, products)
    expiry = (await row_of(app, first.id)).expires_at
    got = await door(app, token, first.member_id, product.id, key(), expiry)
    assert got == admissions.Door(refusal=REFUSALS[Entry.EXPIRED])
    assert (await row_of(app, first.id)).used_at is None


async def test_after_the_expiry_only_an_answered_press_is_let_through_again(app, members, products):
    product, first, token = await admitted_pair(app, members, products)
    expiry = (await row_of(app, first.id)).expires_at
    k = key()
    assert (await door(app, token, first.member_id, product.id, k, at(5))).admitted
    late = await door(app, token, first.member_id, product.id, k, expiry + timedelta(seconds=1))
    assert late.refusal == REFUSALS[Entry.EXPIRED]  # never answered: its unit may be someone else's
    result = await press(service(app), product.id, first.member_id, k, at(6), admitted=True)
    assert result.outcome is Outcome.GRANTED
    assert (await door(app, token, first.member_id, product.id, k, expiry + timedelta(seconds=1))).admitted


@pytest.mark.parametrize(
    "case", ["first come", "not a key", "not open yet", "sold out"], ids=lambda case: case.replace(" ", "-")
)
async def test_a_press_that_cannot_buy_spends_nothing(app, members, products, case):
    product, first, token = await admitted_pair(app, members, products)
    k = "short" if case == "not a key" else key()
    target = product.id
    if case == "first come":
        target = (await products.create(await members.seller(), sale_starts_at=START)).id
        token = sign_admission(
            admission_secret(app.state.settings),
            Signed(first.member_id, target, first.expires_at, first.nonce),
        )
    elif case in ("not open yet", "sold out"):
        status = ProductStatus.SCHEDULED if case == "not open yet" else ProductStatus.CONVERSION_PENDING
        await set_status(app, product.id, status)
    assert await door(app, token, first.member_id, target, k, at(5)) == admissions.Door()
    assert (await row_of(app, first.id)).used_at is None


# Sold out


async def test_when_the_units_are_gone_admission_stops_and_the_line_is_told(app, members, products):
    product, crowd = await a_line(app, members, products, 6, fixed=2, rate=6000)
    drops = service(app)
    assert await issue(app, product.id, at(1)) == 2
    rights = []
    for row in await admitted(app, product.id):
        token = (await pass_of(app, product.id, row.member_id)).token
        k = key()
        assert (await door(app, token, row.member_id, product.id, k, at(2))).admitted
        result = await press(drops, product.id, row.member_id, k, at(2), admitted=True)
        assert result.outcome is Outcome.GRANTED
        rights.append(result.right_id)
    by_id = {m.id: m for m in crowd}
    waiting = [by_id[m] for m in (await in_line_order(app, product.id))[2:]]
    for member in waiting:
        got = await standing(app, member, product.id, at(3))
        assert got is not None and got.sold_out and not got.closed and not got.turn
    assert await issue(app, product.id, at(3600)) == 0
    await expire(app, rights[0], at(3600))
    first_waiting = await standing(app, waiting[0], product.id, at(3601))
    assert first_waiting is not None and first_waiting.turn and first_waiting.admission is not None
    second = await standing(app, waiting[1], product.id, at(3601))
    assert second is not None and not second.turn and not second.sold_out  # one unit is out, held for place 3
