"""A crowd in a waiting room: 500 members join the line of a 50-unit drop (450 before the start, 50
after it, while it moves), and the clock moves on in steps of five seconds at two places a second.
At each step three issuers run at once (as three web processes' loops and page views would), and
every member whose place was let in presses Buy at once through the door and the drop service, as
the app does; each also sends the same press again (let through: the answer replays) and presses
once more with another key (refused: the admission is spent). Every member without an admission
is refused, with no token or with another member's, while units are left, and sold out after.

Then: the places let in are exactly the rate's, in line order, each once; every admission was used
once, by its own press, which was granted; 50 rights for 50 members and nothing more (taken = 50,
the ledger adding up); and once the units are gone admission stops and those still waiting are
told so."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.accounts.passwords import PasswordHasher
from app.drops.admissions import REFUSALS, Door
from app.drops.line_rules import Entry, admitted_by
from app.drops.rules import Outcome
from app.drops.stock import ledger_sum
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight
from app.models.members import Member
from tests.helpers.drops import service
from tests.helpers.factories import PASSWORD
from tests.helpers.keys import key
from tests.helpers.lines import START, admitted, at, door, issue, join, pass_of, places, press, room_on_sale, standing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MEMBERS, EARLY, UNITS, RATE, STEP = 500, 450, 50, 120, 5.0
# Transactions of their own at once, at most: on PostgreSQL each is a connection of its own.
AT_ONCE = 16


async def crowd(app, size: int) -> list[Member]:
    """``size`` members, written at once."""
    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)
    rows = [
        {"email": f"queue{i}@crowd.test", "display_name": f"Queuer {i}", "password_hash": password_hash}
        for i in range(size)
    ]
    async with app.state.database.transaction() as db:
        await db.execute(insert(Member), rows)
        query = select(Member).where(Member.email.like("queue%@crowd.test")).order_by(Member.id)
        return list((await db.execute(query)).scalars())


async def test_a_crowd_in_a_waiting_room_is_let_in_at_the_rate_and_nothing_is_oversold(app, members, products):
    product = await room_on_sale(app, members, products, fixed=UNITS, rate=RATE)
    people = await crowd(app, MEMBERS)
    early, late = people[:EARLY], people[EARLY:]
    opens = START - timedelta(minutes=10)
    turns = asyncio.Semaphore(AT_ONCE)

    async def bounded(work):
        async with turns:
            return await work

    await asyncio.gather(
        *(bounded(join(app, m, product.id, opens + timedelta(milliseconds=n))) for n, m in enumerate(early))
    )
    drops = service(app)
    spent: dict[int, str] = {}  # member → the key their admission was used with
    granted: dict[int, int] = {}  # member → right
    step, now = 0, START
    while True:
        now = at(step * STEP)
        joining = late[step * 10 : step * 10 + 10]  # the late ones join as the line moves
        counts = await asyncio.gather(
            *(issue(app, product.id, now) for _ in range(3)), *(bounded(join(app, m, product.id, now)) for m in joining)
        )
        rows = await admitted(app, product.id)
        assert len(rows) == min(admitted_by(START, RATE, now), UNITS)  # the rate's places, or the units
        assert sum(counts[:3]) == len(rows) - len(spent)  # each place admitted once, by one issuer
        fresh = [row for row in rows if row.member_id not in spent]
        let_in = {row.member_id for row in rows}
        pushing = [m for m in people[step::12] if m.id not in let_in]  # a share of the others, each step
        borrowed = (await pass_of(app, product.id, rows[0].member_id)).token  # somebody else's admission
        answers = await asyncio.gather(
            *(bounded(buy_in(app, drops, product.id, row.member_id, now, spent, granted)) for row in fresh),
            *(press(drops, product.id, m.id, key(), now, admitted=False) for m in pushing),
            *(bounded(door(app, borrowed, m.id, product.id, key(), now)) for m in pushing),
        )
        if len(rows) < UNITS:  # units left all along: no admission, no buying
            assert {a.outcome for a in answers[len(fresh) : len(fresh) + len(pushing)]} == {Outcome.JOIN_LINE}
            assert set(answers[len(fresh) + len(pushing) :]) == {Door(refusal=REFUSALS[Entry.UNKNOWN])}
        if not fresh and len(rows) == UNITS:
            break
        step += 1
        assert step < 60, "the line stopped moving"

    # the places let in are the first fifty of the line, each once, each used once by its own press
    order = sorted((place, member) for member, place in (await places(app, product.id)).items())
    assert [place for place, _member in order] == list(range(1, MEMBERS + 1))
    rows = await admitted(app, product.id)
    assert [(row.place, row.member_id) for row in rows] == order[:UNITS]
    assert all(row.used_at is not None and row.press_key == spent[row.member_id] for row in rows)
    assert len({row.press_key for row in rows}) == UNITS

    # once the units are gone, everyone else's press is refused
    outside = [m for m in people if m.id not in spent]
    refusals = await asyncio.gather(*(press(drops, product.id, m.id, key(), now, admitted=False) for m in outside))
    assert {r.outcome for r in refusals} == {Outcome.SOLD_OUT}
    waiting = await standing(app, outside[0], product.id, now + timedelta(seconds=1))
    assert waiting is not None and waiting.sold_out and not waiting.turn
    assert await issue(app, product.id, now + timedelta(minutes=30)) == 0

    # nothing oversold, and the ledger adds up
    async with app.state.database.transaction() as db:
        stored = await db.get(Product, product.id, populate_existing=True)
        rights = await db.scalar(select(func.count()).where(PurchaseRight.product_id == product.id))
        holders = await db.scalar(
            select(func.count(func.distinct(PurchaseRight.member_id))).where(PurchaseRight.product_id == product.id)
        )
        assert stored.taken_quantity == UNITS and rights == UNITS and holders == UNITS
        assert await ledger_sum(db, product.id) == stored.fixed_quantity - stored.taken_quantity == 0
        assert stored.status is ProductStatus.CONVERSION_PENDING
    assert sorted(granted) == sorted(spent)


async def buy_in(app, drops, product_id: int, member_id: int, now, spent: dict, granted: dict) -> None:
    """An admitted member presses Buy with their admission, sends the same press again, then tries
    another key."""
    token = (await pass_of(app, product_id, member_id)).token
    k = key()
    first = await door(app, token, member_id, product_id, k, now)
    assert first.admitted
    spent[member_id] = k
    result = await press(drops, product_id, member_id, k, now, admitted=True)
    assert result.outcome is Outcome.GRANTED, result
    granted[member_id] = result.right_id
    # Sent again: let through (once the last unit is taken the door stands aside: the key's answer
    # is kept by the drop whatever the product's state).
    again = await door(app, token, member_id, product_id, k, now + timedelta(seconds=1))
    assert again.refusal is None
    replay = await press(drops, product_id, member_id, k, now + timedelta(seconds=1), again.admitted)
    assert replay.outcome is Outcome.GRANTED and replay.replayed and replay.right_id == result.right_id
    other_key = key()
    other = await door(app, token, member_id, product_id, other_key, now + timedelta(seconds=2))
    if other.refusal is None:  # sold out meanwhile: the press goes without the admission, and is refused
        assert not other.admitted
        refused = await press(drops, product_id, member_id, other_key, now + timedelta(seconds=2), admitted=False)
        assert refused.outcome is Outcome.SOLD_OUT
    else:
        assert other.refusal == REFUSALS[Entry.USED]
