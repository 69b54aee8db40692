"""A Buy key keeps its answer for its life, whatever happens to the gate (Redis flushed or
restarted, rebuilt from the database meanwhile): "Yours!" stays that right (and a replay after the
right expired or was paid says so), a refusal stays that refusal even after units come back. On
the in-process gate by default; the Redis gate with TEST_REDIS_URL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.drops.reconcile import reconcile_product
from app.drops.rules import Outcome
from app.drops.service import KeyConflict, Press
from app.drops.stock import pay_right
from app.models.drops import PressRefusal, PurchaseRight, RightStatus
from tests.helpers.drops import expire_now, lose_the_gate, on_sale, service
from tests.helpers.keys import key


async def test_a_granted_key_stays_granted_after_the_gate_is_lost_and_rebuilt(app, members, products):
    product = await on_sale(app, members, products, fixed=1)
    drop = service(app)
    winner, other = await members.create(), await members.create()
    mine = key()
    first = await drop.press(Press(product.id, winner.id, mine))
    assert first.outcome is Outcome.GRANTED
    assert (await drop.press(Press(product.id, other.id, key()))).outcome is Outcome.SOLD_OUT

    await lose_the_gate(drop, product.id)
    replay = await drop.press(Press(product.id, winner.id, mine))
    assert (replay.outcome, replay.right_id, replay.replayed) == (Outcome.GRANTED, first.right_id, True)

    # rebuilt with no units left: the key is still its right, not "sold out" nor "your limit"
    await lose_the_gate(drop, product.id)
    await reconcile_product(app.state.database, drop.gate, product.id)
    assert await drop.gate.lookup(product.id, mine) == f"granted:{first.right_id}:{winner.id}"
    replays = await asyncio.gather(*(drop.press(Press(product.id, winner.id, mine)) for _ in range(5)))
    assert {(r.outcome, r.right_id) for r in replays} == {(Outcome.GRANTED, first.right_id)}
    with pytest.raises(KeyConflict):
        await drop.press(Press(product.id, other.id, mine))


async def test_an_expired_or_paid_right_is_still_the_answer_to_its_key(app, members, products):
    product = await on_sale(app, members, products, fixed=2)
    drop = service(app)
    a, b = await members.create(), await members.create()
    key_a, key_b = key(), key()
    right_a = await drop.press(Press(product.id, a.id, key_a))
    right_b = await drop.press(Press(product.id, b.id, key_b))
    await expire_now(app, right_a.right_id)
    async with app.state.database.transaction() as db:
        await pay_right(db, right_b.right_id)
    await lose_the_gate(drop, product.id)
    await reconcile_product(app.state.database, drop.gate, product.id)  # one unit is back on sale
    for member, k, right in ((a, key_a, right_a), (b, key_b, right_b)):
        replay = await drop.press(Press(product.id, member.id, k))
        assert (replay.outcome, replay.right_id) == (Outcome.GRANTED, right.right_id)
    async with app.state.database.transaction() as db:
        statuses = {r.id: r.status for r in (await db.execute(select(PurchaseRight))).scalars()}
    assert statuses == {right_a.right_id: RightStatus.EXPIRED, right_b.right_id: RightStatus.PAID}


async def test_a_refused_key_stays_refused_when_units_come_back(app, members, products):
    """The rule: a refusal is the key's answer for its life; pressing again (a new key) asks again."""
    product = await on_sale(app, members, products, fixed=2, limit=1)
    drop = service(app)
    holder, filler, late = await members.create(), await members.create(), await members.create()
    held = await drop.press(Press(product.id, holder.id, key()))
    limit_key, sold_out_key = key(), key()
    assert (await drop.press(Press(product.id, holder.id, limit_key))).outcome is Outcome.LIMIT
    assert (await drop.press(Press(product.id, filler.id, key()))).outcome is Outcome.GRANTED
    assert (await drop.press(Press(product.id, late.id, sold_out_key))).outcome is Outcome.SOLD_OUT

    await lose_the_gate(drop, product.id)
    await expire_now(app, held.right_id)  # the unit is back, the holder under the limit again
    await reconcile_product(app.state.database, drop.gate, product.id)
    for member, k, outcome in ((holder, limit_key, Outcome.LIMIT), (late, sold_out_key, Outcome.SOLD_OUT)):
        replay = await drop.press(Press(product.id, member.id, k))
        assert (replay.outcome, replay.replayed) == (outcome, True)
    with pytest.raises(KeyConflict):
        await drop.press(Press(product.id, holder.id, sold_out_key))
    # a fresh key asks again and gets the unit
    assert (await drop.press(Press(product.id, late.id, key()))).outcome is Outcome.GRANTED
    async with app.state.database.transaction() as db:
        kept = {r.key: r.outcome for r in (await db.execute(select(PressRefusal))).scalars()}
        rights = await db.scalar(select(func.count()).select_from(PurchaseRight))
    assert kept == {limit_key: "limit", sold_out_key: "sold_out"}
    assert rights == 3


async def test_replays_racing_a_lost_gate_get_one_answer_per_key(app, members, products):
    """Keys pressed several times at once, before and after the gate loses its memory: each key
    gets one answer, every time, and no unit is taken twice."""
    product = await on_sale(app, members, products, fixed=5, limit=1)
    drop = service(app)
    shoppers = [(await members.create()).id for _ in range(12)]
    keys = {m: key() for m in shoppers}
    first = await asyncio.gather(*(drop.press(Press(product.id, m, keys[m])) for m in shoppers for _ in range(3)))
    await lose_the_gate(drop, product.id)
    again = await asyncio.gather(*(drop.press(Press(product.id, m, keys[m])) for m in shoppers for _ in range(2)))
    answers: dict[int, set[tuple[Outcome, int | None]]] = {}
    for (m, _), result in zip([(m, i) for m in shoppers for i in range(3)], first, strict=True):
        answers.setdefault(m, set()).add((result.outcome, result.right_id))
    for (m, _), result in zip([(m, i) for m in shoppers for i in range(2)], again, strict=True):
        answers.setdefault(m, set()).add((result.outcome, result.right_id))
    assert all(len(seen) == 1 for seen in answers.values()), answers
    assert sum(next(iter(seen))[0] is Outcome.GRANTED for seen in answers.values()) == 5
