"""The waiting room's line on the database: a member joins once however often they ask, each
refusal says why, the first join gives the product its seed (once, even when two joins race), and
a member's standing follows the seeded order for those who joined before the start and arrival
order for the rest, computed here independently with ``line_order``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core.errors import DomainError
from app.drops.line_rules import Joined, admitted_by, estimated_wait, line_order
from app.drops.waiting_room import WaitingRoom
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.lines import LinePlace

START = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
OPEN = START - timedelta(minutes=15)  # the suite's default lead


async def a_line(members, products, **fields):
    values = {"status": ProductStatus.SCHEDULED, "sale_starts_at": START, "sale_mode": SaleMode.WAITING_ROOM}
    return await products.create(await members.seller(), **(values | fields))


async def join(app, member, product_id: int, now: datetime) -> LinePlace:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        return await WaitingRoom(db, app.state.settings).join(member, product, now)


async def standing(app, member, product_id: int, now: datetime):
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        return await WaitingRoom(db, app.state.settings).standing(member, product, now)


async def places(app, product_id: int) -> int:
    async with app.state.database.transaction() as db:
        return await db.scalar(select(func.count(LinePlace.id)).where(LinePlace.product_id == product_id))


async def seed_of(app, product_id: int) -> str | None:
    async with app.state.database.transaction() as db:
        return await db.scalar(select(Product.line_seed).where(Product.id == product_id))


async def test_joining_twice_keeps_one_place_and_its_first_time(app, members, products):
    product = await a_line(members, products)
    member = await members.create()
    first = await join(app, member, product.id, OPEN + timedelta(minutes=1))
    again = await join(app, member, product.id, OPEN + timedelta(minutes=5))
    assert again.id == first.id and again.joined_at == OPEN + timedelta(minutes=1)
    assert await places(app, product.id) == 1


async def test_the_line_opens_at_its_lead_before_the_start(app, members, products):
    product = await a_line(members, products)
    member = await members.create()
    with pytest.raises(DomainError, match="not open yet"):
        await join(app, member, product.id, OPEN - timedelta(microseconds=1))
    assert await places(app, product.id) == 0 and await seed_of(app, product.id) is None
    place = await join(app, member, product.id, OPEN)
    assert place.joined_at == OPEN


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sale_mode": SaleMode.FIRST_COME}, "not sold through a waiting room"),
        ({"sale_mode": SaleMode.DRAW, "draw_ends_at": START + timedelta(hours=1)}, "not sold through a waiting room"),
        ({"status": ProductStatus.ENDED}, "sale is over"),
        ({"status": ProductStatus.CONVERSION_PENDING}, "sale is over"),
        ({"status": ProductStatus.AUCTION_LIVE}, "sale is over"),
    ],
)
async def test_each_refusal_says_why_and_writes_nothing(app, members, products, fields, message):
    product = await a_line(members, products, **fields)
    with pytest.raises(DomainError, match=message):
        await join(app, await members.create(), product.id, START)
    assert await places(app, product.id) == 0 and await seed_of(app, product.id) is None


async def test_the_seller_cannot_join_their_own_line(app, members, products):
    seller = await members.seller()
    product = await products.create(
        seller, status=ProductStatus.SCHEDULED, sale_starts_at=START, sale_mode=SaleMode.WAITING_ROOM
    )
    with pytest.raises(DomainError, match="your product"):
        await join(app, seller, product.id, START)
    assert await places(app, product.id) == 0


async def test_the_first_join_sets_the_seed_and_later_joins_keep_it(app, members, products):
    product = await a_line(members, products)
    assert await seed_of(app, product.id) is None
    await join(app, await members.create(), product.id, OPEN)
    seed = await seed_of(app, product.id)
    assert seed is not None and len(seed) == 64
    for _ in range(3):
        await join(app, await members.create(), product.id, OPEN + timedelta(minutes=2))
    assert await seed_of(app, product.id) == seed


async def test_joins_at_once_keep_one_seed_and_one_place_each(app, members, products):
    product = await a_line(members, products)
    crowd = [await members.create() for _ in range(8)]
    await asyncio.gather(*(join(app, m, product.id, OPEN) for m in crowd + crowd))
    assert await places(app, product.id) == len(crowd)
    assert await seed_of(app, product.id) is not None


async def test_before_the_start_the_place_is_not_drawn_yet(app, members, products):
    product = await a_line(members, products)
    member, other, outsider = await members.create(), await members.create(), await members.create()
    await join(app, member, product.id, OPEN)
    await join(app, other, product.id, OPEN + timedelta(minutes=1))
    got = await standing(app, member, product.id, START - timedelta(seconds=1))
    assert got is not None
    assert (got.place, got.wait, got.total, got.admitted, got.starts_at) == (None, None, 2, 0, START)
    assert await standing(app, outsider, product.id, START) is None


async def test_from_the_start_places_follow_the_seeded_order_then_arrival(app, members, products):
    product = await a_line(members, products, admission_rate_per_minute=2)
    early = [await members.create() for _ in range(6)]
    late = [await members.create() for _ in range(3)]
    joined = []
    for n, m in enumerate(early):
        at = OPEN + timedelta(seconds=n)
        await join(app, m, product.id, at)
        joined.append(Joined(m.id, at))
    for n, m in enumerate(reversed(late)):  # arrival order differs from the id order
        at = START + timedelta(seconds=n)
        await join(app, m, product.id, at)
        joined.append(Joined(m.id, at))
    seed = await seed_of(app, product.id)
    expected = line_order(seed, joined, START)
    assert expected[6:] == [m.id for m in reversed(late)]
    now = START + timedelta(seconds=75)  # rate 2/min: places 1..3 let in
    by_id = {m.id: m for m in early + late}
    seen = []
    for member_id in expected:
        got = await standing(app, by_id[member_id], product.id, now)
        assert got is not None and got.total == 9 and got.admitted == 3
        seen.append(got.place)
        assert got.wait == estimated_wait(got.place, 3, 2)
    assert seen == list(range(1, 10))
    last = await standing(app, by_id[expected[-1]], product.id, now)
    assert last.wait == timedelta(minutes=3)  # (9 - 3) places at 2 a minute
    first = await standing(app, by_id[expected[0]], product.id, now)
    assert first.wait == timedelta(0) and first.turn


async def test_admitted_never_exceeds_the_line_and_the_shop_rate_applies(app, members, products):
    product = await a_line(members, products)  # no rate of its own: the shop's setting
    member = await members.create()
    await join(app, member, product.id, OPEN)
    now = START + timedelta(minutes=10)
    rate = app.state.settings.admission_rate_per_minute
    assert admitted_by(START, rate, now) > 1
    got = await standing(app, member, product.id, now)
    assert got is not None and (got.place, got.admitted, got.wait) == (1, 1, timedelta(0))
