"""``transition()`` on a real database: history, outbox events, stale moves, hide/unhide, opening."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.catalog.transitions import history, open_due_sale, transition
from app.core.states import IllegalTransition
from app.core.status import StaleStatus
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, ProductStatusChange
from app.models.events import OutboxEvent
from app.models.members import Member


async def status_events(app, product_id: int) -> list[dict]:
    async with app.state.database.transaction() as db:
        stmt = select(OutboxEvent.payload).where(
            OutboxEvent.topic == "product.status_changed", OutboxEvent.aggregate_id == product_id
        )
        return list((await db.execute(stmt.order_by(OutboxEvent.created_at))).scalars())


async def changes(app, product_id: int) -> list[ProductStatusChange]:
    async with app.state.database.transaction() as db:
        return list(reversed(await history(db, product_id)))


async def test_transition_writes_history_and_an_event_with_from_and_to(app, members, products):
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.DRAFT)
    async with app.state.database.transaction() as db:
        row = await db.get(Product, product.id)
        actor = await db.get(Member, seller.id)
        change = await transition(db, row, ProductStatus.SCHEDULED, actor=actor, reason="ready")
        assert row.status is ProductStatus.SCHEDULED and change.from_status is ProductStatus.DRAFT
    [saved] = await changes(app, product.id)
    assert (saved.from_status, saved.to_status, saved.actor_id, saved.reason) == (
        ProductStatus.DRAFT,
        ProductStatus.SCHEDULED,
        seller.id,
        "ready",
    )
    assert await status_events(app, product.id) == [{"from_status": "draft", "to_status": "scheduled"}]


async def test_an_illegal_move_is_refused_and_leaves_no_trace(app, members, products):
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.CANCELLED)
    async with app.state.database.transaction() as db:
        with pytest.raises(IllegalTransition):
            await transition(db, await db.get(Product, product.id), ProductStatus.HIDDEN, reason="x")
    assert await changes(app, product.id) == []
    assert await status_events(app, product.id) == []


async def test_a_stale_transition_is_refused(app, members, products):
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.SCHEDULED, sale_starts_at=utcnow() - timedelta(1))
    database = app.state.database
    async with database.sessionmaker() as slow:
        seen = await slow.get(Product, product.id)  # read as scheduled
        await slow.commit()
        async with database.transaction() as fast:
            await transition(fast, await fast.get(Product, product.id), ProductStatus.ON_SALE)
        assert seen.status is ProductStatus.SCHEDULED
        with pytest.raises(StaleStatus):
            await transition(slow, seen, ProductStatus.CANCELLED, reason="too late")
        await slow.rollback()
    async with database.transaction() as db:
        assert (await db.get(Product, product.id)).status is ProductStatus.ON_SALE
    assert [(c.from_status, c.to_status) for c in await changes(app, product.id)] == [
        (ProductStatus.SCHEDULED, ProductStatus.ON_SALE)
    ]
    assert len(await status_events(app, product.id)) == 1


async def test_hide_and_unhide_round_trip(app, members, products):
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.ON_SALE)
    async with app.state.database.transaction() as db:
        row = await db.get(Product, product.id)
        await transition(db, row, ProductStatus.HIDDEN, reason="counterfeit report")
    async with app.state.database.transaction() as db:
        row = await db.get(Product, product.id)
        assert (row.status, row.hidden_from, row.hidden_reason) == (
            ProductStatus.HIDDEN,
            ProductStatus.ON_SALE,
            "counterfeit report",
        )
        for wrong in (ProductStatus.SCHEDULED, ProductStatus.ENDED, ProductStatus.DRAFT):
            with pytest.raises(IllegalTransition):
                await transition(db, row, wrong, reason="nope")
        await transition(db, row, ProductStatus.ON_SALE, reason="checked: genuine")
    async with app.state.database.transaction() as db:
        row = await db.get(Product, product.id)
        assert (row.status, row.hidden_from) == (ProductStatus.ON_SALE, None)
    assert [(c.from_status, c.to_status, c.reason) for c in await changes(app, product.id)] == [
        (ProductStatus.ON_SALE, ProductStatus.HIDDEN, "counterfeit report"),
        (ProductStatus.HIDDEN, ProductStatus.ON_SALE, "checked: genuine"),
    ]
    assert await status_events(app, product.id) == [
        {"from_status": "on_sale", "to_status": "hidden"},
        {"from_status": "hidden", "to_status": "on_sale"},
    ]


async def test_open_due_sale_is_idempotent(app, members, products):
    seller = await members.seller()
    due = await products.create(seller, status=ProductStatus.SCHEDULED, sale_starts_at=utcnow() - timedelta(minutes=1))
    later = await products.create(seller, status=ProductStatus.SCHEDULED, sale_starts_at=utcnow() + timedelta(hours=1))
    for expected in (True, False, False):
        async with app.state.database.transaction() as db:
            assert await open_due_sale(db, due.id) is expected
    async with app.state.database.transaction() as db:
        assert await open_due_sale(db, later.id) is False
        assert await open_due_sale(db, 10**6) is False
        assert await open_due_sale(db, later.id, now=utcnow() + timedelta(hours=2)) is True
    assert [(c.from_status, c.to_status) for c in await changes(app, due.id)] == [
        (ProductStatus.SCHEDULED, ProductStatus.ON_SALE)
    ]
    assert len(await status_events(app, due.id)) == 1
