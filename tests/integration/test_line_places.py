"""A waiting room's places on the database: written once at the start in the seeded order (however
often and however concurrently the order is first needed), later joiners given the next place at
once (concurrent joins too), and a member's standing read from their own rows, not the line."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from app.drops.line_rules import Joined, line_order
from tests.helpers.lines import START, at, issue, join, join_all, line_of, places, room_on_sale, standing
from tests.helpers.sql import statements

OPEN = START - timedelta(minutes=15)


async def test_the_early_joiners_places_are_written_once_at_the_start_in_the_seeded_order(app, members, products):
    product = await room_on_sale(app, members, products)
    early = [await members.create() for _ in range(7)]
    joined = []
    for n, member in enumerate(early):
        await join(app, member, product.id, OPEN + timedelta(seconds=n))
        joined.append(Joined(member.id, OPEN + timedelta(seconds=n)))
    assert set((await places(app, product.id)).values()) == {None}  # nothing drawn before the start
    assert (await line_of(app, product.id)).length is None
    await asyncio.gather(*(issue(app, product.id, at(0)) for _ in range(4)))  # the order is needed at once
    line = await line_of(app, product.id)
    order = line_order(line.seed, joined, START)
    recorded = await places(app, product.id)
    assert [member for member, _ in sorted(recorded.items(), key=lambda item: item[1])] == order
    assert line.length == 7
    await issue(app, product.id, at(60))
    assert await places(app, product.id) == recorded  # never drawn again


async def test_a_member_who_joins_after_the_start_gets_the_next_place_at_once(app, members, products):
    product = await room_on_sale(app, members, products)
    await join_all(app, [await members.create() for _ in range(3)], product.id, OPEN)
    late = [await members.create() for _ in range(3)]
    for n, member in enumerate(late):
        row = await join(app, member, product.id, at(5 + n))
        assert row.place == 4 + n
    again = await join(app, late[0], product.id, at(30))
    assert again.place == 4
    assert (await line_of(app, product.id)).length == 6


async def test_the_first_join_after_the_start_writes_the_early_places_first(app, members, products):
    product = await room_on_sale(app, members, products)
    early = [await members.create() for _ in range(4)]
    await join_all(app, early, product.id, OPEN)
    late = await members.create()
    row = await join(app, late, product.id, at(1))  # nobody needed the order before this join
    assert row.place == 5
    assert sorted((await places(app, product.id)).values()) == [1, 2, 3, 4, 5]


async def test_concurrent_joins_take_distinct_places_with_no_gap(app, members, products):
    product = await room_on_sale(app, members, products)
    await join_all(app, [await members.create() for _ in range(5)], product.id, OPEN)
    crowd = [await members.create() for _ in range(12)]
    # the late crowd joins (each twice) while the places are first being written
    await asyncio.gather(
        *(join(app, member, product.id, at(1)) for member in crowd + crowd),
        *(issue(app, product.id, at(1)) for _ in range(3)),
    )
    recorded = await places(app, product.id)
    assert len(recorded) == 17
    assert sorted(recorded.values()) == list(range(1, 18))
    assert (await line_of(app, product.id)).length == 17


async def test_a_standing_reads_the_members_own_rows_and_counts_never_the_line(app, members, products):
    product = await room_on_sale(app, members, products, fixed=1, rate=1)
    people = [await members.create() for _ in range(6)]
    await join_all(app, people, product.id, OPEN)
    await issue(app, product.id, at(0))  # the places are written, place 1 let in
    me = people[0]
    with statements(app) as seen:
        got = await standing(app, me, product.id, at(10))
    assert got is not None and got.total == 6 and got.admitted == 1
    on_the_line = [s for s in seen if re.search(r"\bline_places\b", s)]
    assert on_the_line, "the standing reads the member's place"
    for statement in on_the_line:
        assert re.search(r"line_places\.member_id\s*=", statement), statement


async def test_before_the_start_a_standing_counts_the_line(app, members, products):
    product = await room_on_sale(app, members, products)
    people = [await members.create() for _ in range(3)]
    await join_all(app, people, product.id, OPEN)
    got = await standing(app, people[1], product.id, START - timedelta(seconds=1))
    assert got is not None and (got.place, got.total, got.admitted, got.admission) == (None, 3, 0, None)
