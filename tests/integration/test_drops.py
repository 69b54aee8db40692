"""The drop engine on the database this suite runs on (SQLite with the in-process gate by default;
PostgreSQL and the Redis gate with TEST_DATABASE_URL / TEST_REDIS_URL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.drops.rules import Outcome
from app.drops.service import KeyConflict, Press
from app.drops.stock import ledger_sum, pay_right, release_right
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus, StockReason
from tests.helpers.drops import on_sale, service
from tests.helpers.keys import key


async def state(app, product_id: int) -> tuple[Product, int, int]:
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        rights = await db.scalar(
            select(func.count())
            .select_from(PurchaseRight)
            .where(
                PurchaseRight.product_id == product_id, PurchaseRight.status.in_([RightStatus.HELD, RightStatus.PAID])
            )
        )
        return product, rights, await ledger_sum(db, product_id)


async def test_crowd_on_a_small_drop_never_oversells(app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    buyers = [await members.create() for _ in range(40)]
    drop = service(app)
    results = await asyncio.gather(*(drop.press(Press(product.id, m.id, key())) for m in buyers))
    granted = [r for r in results if r.outcome is Outcome.GRANTED]
    assert len(granted) == 5
    assert {r.outcome for r in results} <= {Outcome.GRANTED, Outcome.SOLD_OUT}
    fresh, rights, ledger = await state(app, product.id)
    assert rights == 5 and fresh.taken_quantity == 5 and ledger == fresh.fixed_left == 0
    assert fresh.status is ProductStatus.CONVERSION_PENDING


async def test_one_member_pressing_many_times_gets_one_right(app, members, products):
    product = await on_sale(app, members, products, fixed=5, limit=1)
    member = await members.create()
    drop = service(app)
    results = await asyncio.gather(*(drop.press(Press(product.id, member.id, key())) for _ in range(30)))
    assert sum(r.outcome is Outcome.GRANTED for r in results) == 1
    assert {r.outcome for r in results} == {Outcome.GRANTED, Outcome.LIMIT}
    fresh, rights, ledger = await state(app, product.id)
    assert rights == 1 and ledger == fresh.fixed_left == 4


async def test_the_same_key_replayed_gives_one_right_and_the_same_answer(app, members, products):
    product = await on_sale(app, members, products, fixed=5, limit=3)
    member = await members.create()
    drop = service(app)
    same = key()
    results = await asyncio.gather(*(drop.press(Press(product.id, member.id, same)) for _ in range(30)))
    assert {(r.outcome, r.right_id) for r in results} == {(Outcome.GRANTED, results[0].right_id)}
    fresh, rights, _ = await state(app, product.id)
    assert rights == 1 and fresh.taken_quantity == 1
    other = await members.create()
    with pytest.raises(KeyConflict):
        await drop.press(Press(product.id, other.id, same))


async def test_expired_rights_return_their_units_to_the_next_shoppers(app, members, products):
    product = await on_sale(app, members, products, fixed=2)
    first = [await members.create() for _ in range(2)]
    drop = service(app, hold=0)
    granted = [await drop.press(Press(product.id, m.id, key())) for m in first]
    assert [g.outcome for g in granted] == [Outcome.GRANTED] * 2
    late = await members.create()
    assert (await drop.press(Press(product.id, late.id, key()))).outcome is Outcome.SOLD_OUT
    for g in granted:
        async with app.state.database.transaction() as db:
            await release_right(db, g.right_id, RightStatus.EXPIRED, StockReason.EXPIRY)
    fresh, rights, ledger = await state(app, product.id)
    assert fresh.status is ProductStatus.ON_SALE and rights == 0 and ledger == fresh.fixed_left == 2
    assert (await drop.press(Press(product.id, late.id, key()))).outcome is Outcome.GRANTED
    # a second expiry delivery changes nothing
    async with app.state.database.transaction() as db:
        assert await release_right(db, granted[0].right_id, RightStatus.EXPIRED, StockReason.EXPIRY) is None
    fresh, _, ledger = await state(app, product.id)
    assert ledger == fresh.fixed_left == 1


async def test_losing_the_gate_state_mid_sale_never_oversells(app, members, products):
    product = await on_sale(app, members, products, fixed=6)
    drop = service(app)
    buyers = [await members.create() for _ in range(30)]
    first = await asyncio.gather(*(drop.press(Press(product.id, m.id, key())) for m in buyers[:10]))
    await drop.gate.forget(product.id)  # as if Redis were flushed
    if hasattr(drop.gate, "redis"):
        await drop.gate.redis.flushdb()
    second = await asyncio.gather(*(drop.press(Press(product.id, m.id, key())) for m in buyers[10:]))
    assert sum(r.outcome is Outcome.GRANTED for r in first + second) == 6
    fresh, rights, ledger = await state(app, product.id)
    assert rights == 6 and ledger == fresh.fixed_left == 0


async def test_paying_every_unit_converts_to_auction_or_ends(app, members, products):
    product = await on_sale(app, members, products, fixed=2, total=5)
    drop = service(app)
    rights = [await drop.press(Press(product.id, (await members.create()).id, key())) for _ in range(2)]
    async with app.state.database.transaction() as db:
        await pay_right(db, rights[0].right_id)
    assert (await state(app, product.id))[0].status is ProductStatus.CONVERSION_PENDING
    async with app.state.database.transaction() as db:
        await pay_right(db, rights[1].right_id)
    assert (await state(app, product.id))[0].status is ProductStatus.AUCTION_LIVE

    only_fixed = await on_sale(app, members, products, fixed=1, total=1)
    right = await drop.press(Press(only_fixed.id, (await members.create()).id, key()))
    async with app.state.database.transaction() as db:
        await pay_right(db, right.right_id)
    assert (await state(app, only_fixed.id))[0].status is ProductStatus.ENDED


async def test_presses_before_the_start_or_on_unknown_products(app, members, products):
    seller = await members.seller()
    member = await members.create()
    scheduled = await products.create(seller, status=ProductStatus.SCHEDULED)
    drop = service(app)
    assert (await drop.press(Press(scheduled.id, member.id, key()))).outcome is Outcome.NOT_ON_SALE
    from app.core.errors import DomainError, NotFound

    with pytest.raises(NotFound):
        await drop.press(Press(999_999, member.id, key()))
    with pytest.raises(DomainError):
        await drop.press(Press(scheduled.id, member.id, ""))


async def test_presses_whose_clients_went_away_are_still_decided_and_lose_no_unit(app, members, products):
    """Requests cancelled mid-press (the shopper closed the tab): every press the gate counted is
    decided and settled anyway, so the units it did not get are still there for the next shoppers."""
    from app.drops import service as service_module

    product = await on_sale(app, members, products, fixed=4, limit=1)
    drop = service(app)
    leavers = [await members.create() for _ in range(12)]
    tasks = [asyncio.ensure_future(drop.press(Press(product.id, m.id, key()))) for m in leavers]
    for _ in range(3):
        await asyncio.sleep(0)  # into the gate and the queue, not yet answered
    assert not any(t.done() for t in tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(500):  # the cancelled requests' presses finish in the background
        if not service_module._background:
            break
        await asyncio.sleep(0.01)
    assert not service_module._background
    _, taken_by_leavers, _ = await state(app, product.id)
    stayers = [await members.create() for _ in range(10)]
    results = await asyncio.gather(*(drop.press(Press(product.id, m.id, key())) for m in stayers))
    granted = sum(r.outcome is Outcome.GRANTED for r in results)
    assert granted == 4 - taken_by_leavers, "the gate lost units to presses nobody waited for"
    fresh, rights, ledger = await state(app, product.id)
    assert rights == 4 and ledger == fresh.fixed_left == 0


async def test_a_batch_decides_many_presses_in_order_of_arrival(app, members, products):
    """Presses queued behind a running batch are decided together, first come first served: with
    the gate unable to answer, the database alone grants the first presses in the queue."""
    product = await on_sale(app, members, products, fixed=3, limit=1)
    drop = service(app)

    async def gate_down(*args, **kwargs):
        raise ConnectionError("gate unavailable")

    drop.gate = type("DownGate", (), {"lookup": gate_down, "settle": gate_down})()
    buyers = [await members.create() for _ in range(8)]
    results = []
    for member in buyers:  # queued one after another, in this order
        results.append(asyncio.ensure_future(drop.press(Press(product.id, member.id, key()))))
        await asyncio.sleep(0)
    answers = await asyncio.gather(*results)
    assert [a.outcome for a in answers] == [Outcome.GRANTED] * 3 + [Outcome.SOLD_OUT] * 5
    assert all(a.expires_at is not None for a in answers[:3])
    fresh, rights, ledger = await state(app, product.id)
    assert rights == 3 and fresh.status is ProductStatus.CONVERSION_PENDING and ledger == 0
