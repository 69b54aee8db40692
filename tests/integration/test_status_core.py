"""The status core on a real database: every model with a status column is registered and its table
names every status; every allowed move of every table, made through the core, moves the row and
writes one history row and one outbox event; a disallowed move and a stale move write nothing; and
no module outside ``app/core/`` writes a status column of an existing row."""

from __future__ import annotations

import ast
import itertools
import uuid
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

import app.asgi  # noqa: F401  (every part, so every aggregate is registered)
from app.auctions.rules import AuctionStatus
from app.core.states import IllegalTransition
from app.core.status import Aggregate, Move, StaleStatus, move, registered, try_move
from app.events.topics import published
from app.models import (
    Auction,
    AuctionChange,
    AuctionResult,
    Base,
    Category,
    DrawEntry,
    Member,
    MemberRole,
    MemberStatus,
    Order,
    OrderChange,
    OrderSource,
    OrderStatus,
    OutboxEvent,
    Payment,
    PaymentAudit,
    PaymentChange,
    PaymentStatus,
    Product,
    ProductStatus,
    ProductStatusChange,
    PurchaseRight,
    PurchaseRightChange,
    Refund,
    SellerApplication,
    StatusChange,
    utcnow,
)
from app.settings import PROJECT_ROOT

_seq = itertools.count(1)


def status_models() -> dict[type[Any], type[Enum]]:
    """Every mapped class with a ``status`` column, and the enum the column stores."""
    found: dict[type[Any], type[Enum]] = {}
    for mapper in Base.registry.mappers:
        column = mapper.columns.get("status")
        if column is not None:
            found[mapper.class_] = column.type.enum_class
    return found


def all_moves() -> list[tuple[str, Enum, Enum]]:
    return [
        (aggregate.name, source, target)
        for aggregate in registered().values()
        for source, targets in aggregate.machine.table.items()
        for target in sorted(targets, key=lambda s: s.value)
    ]


def by_name(name: str) -> Aggregate[Any]:
    [aggregate] = [a for a in registered().values() if a.name == name]
    return aggregate


# ------------------------------------------------------------------------------ registration


def test_every_status_model_is_registered_and_its_table_names_every_status():
    models = status_models()
    assert len(models) == 10, sorted(m.__name__ for m in models)
    assert set(registered()) == set(models)
    for model, enum in models.items():
        aggregate = registered()[model]
        table = aggregate.machine.table
        assert set(table) == set(enum), f"{model.__name__}: the table does not name {set(enum) - set(table)}"
        for source, targets in table.items():
            assert targets <= set(enum) and source not in targets, (model.__name__, source)
        assert aggregate.topics() <= published(), f"{model.__name__}: undeclared topics"


def test_the_topics_subscribers_rely_on_are_the_ones_the_moves_publish():
    topics = {a.name: {str(t) for t in a.topics()} for a in registered().values()}
    assert topics["product"] == {"product.status_changed"}
    assert topics["purchase_right"] == {"drop.right_paid", "drop.right_expired", "drop.right_cancelled"}
    assert {"order.awaiting_payment", "order.paid", "order.cancelled", "order.failed"} <= topics["order"]
    assert topics["auction"] == {"auction.live", "auction.closed", "auction.settled"}
    assert topics["draw_entry"] == {"draw_entry.won", "draw_entry.not_drawn", "draw_entry.offered"}
    assert "payment.done" in topics["payment"]
    # an approved request for money only is sent to the gateway by the same handler as a new refund
    assert topics["refund"] == {"refund.reserved", "refund.rejected", "refund.done", "refund.failed"}


# ---------------------------------------------------------------------------- rows to move


class World:
    """One seller, category, product, order, payment and auction to hang fresh rows from."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def build(self) -> World:
        self.seller = await self.member(MemberStatus.ACTIVE, role=MemberRole.SELLER)
        self.category = Category(slug=f"c{next(_seq)}", name="Figures")
        self.db.add(self.category)
        await self.db.flush()
        self.product = await self.new_product(ProductStatus.ON_SALE)
        self.order = await self.new_order(OrderStatus.PAID)
        self.payment = await self.new_payment(PaymentStatus.DONE)
        self.auction = await self.new_auction(AuctionStatus.CLOSED)
        return self

    async def add(self, row: Any) -> Any:
        self.db.add(row)
        await self.db.flush()
        return row

    async def member(self, status: Enum, role: MemberRole = MemberRole.SHOPPER) -> Member:
        n = next(_seq)
        return await self.add(
            Member(email=f"m{n}@example.test", display_name=f"M{n}", password_hash="x", role=role, status=status)
        )

    async def new_product(self, status: Enum, hidden_from: Enum | None = None) -> Product:
        return await self.add(
            Product(
                seller_id=self.seller.id,
                category_id=self.category.id,
                name=f"Figure {next(_seq)}",
                list_price=10_000,
                total_quantity=4,
                fixed_quantity=2,
                purchase_limit=1,
                sale_starts_at=utcnow() + timedelta(days=1),
                status=status,
                hidden_from=hidden_from,
            )
        )

    async def new_order(self, status: Enum) -> Order:
        return await self.add(
            Order(
                member_id=self.seller.id,
                seller_id=self.seller.id,
                product_id=self.product.id,
                source=OrderSource.DROP,
                unit_price=10_000,
                amount=10_000,
                status=status,
                pay_by=utcnow() + timedelta(minutes=10),
            )
        )

    async def new_payment(self, status: Enum) -> Payment:
        return await self.add(
            Payment(order_id=self.order.id, gateway_order_id=uuid.uuid4().hex, amount=10_000, status=status)
        )

    async def new_auction(self, status: Enum) -> Auction:
        product = await self.new_product(ProductStatus.AUCTION_LIVE)
        now = utcnow()
        return await self.add(
            Auction(
                product_id=product.id,
                seller_id=self.seller.id,
                units=1,
                start_price=1_000,
                increment=100,
                duration_seconds=60,
                status=status,
                starts_at=now,
                ends_at=now - timedelta(seconds=1),
            )
        )

    async def row(self, name: str, status: Enum, target: Enum | None = None) -> Any:
        """A fresh row of aggregate ``name`` in ``status`` (a hidden product hidden from ``target``)."""
        if name == "product":
            return await self.new_product(status, hidden_from=target if status is ProductStatus.HIDDEN else None)
        if name == "purchase_right":
            return await self.add(
                PurchaseRight(
                    product_id=self.product.id,
                    member_id=self.seller.id,
                    idempotency_key=uuid.uuid4().hex,
                    status=status,
                    unit_price=10_000,
                    expires_at=utcnow() - timedelta(seconds=1),
                )
            )
        if name == "order":
            return await self.new_order(status)
        if name == "payment":
            return await self.new_payment(status)
        if name == "refund":
            return await self.add(
                Refund(
                    order_id=self.order.id,
                    payment_id=self.payment.id,
                    amount=1_000,
                    reason="dented",
                    status=status,
                    idempotency_key=uuid.uuid4().hex,
                )
            )
        if name == "auction":
            return await self.new_auction(status)
        if name == "auction_result":
            return await self.add(AuctionResult(auction_id=self.auction.id, unit=1, status=status, updated_at=utcnow()))
        if name == "seller_application":
            applicant = await self.member(MemberStatus.ACTIVE)
            return await self.add(
                SellerApplication(
                    member_id=applicant.id, business_name="Shop", contact="010", description="We sell.", status=status
                )
            )
        if name == "member":
            return await self.member(status)
        if name == "draw_entry":
            entrant = await self.member(MemberStatus.ACTIVE)
            return await self.add(
                DrawEntry(product_id=self.product.id, member_id=entrant.id, entered_at=utcnow(), status=status)
            )
        raise AssertionError(name)


# The history table of each aggregate and the column naming the row it is about.
HISTORY = {
    "product": (ProductStatusChange, ProductStatusChange.product_id),
    "purchase_right": (PurchaseRightChange, PurchaseRightChange.right_id),
    "order": (OrderChange, OrderChange.order_id),
    "payment": (PaymentChange, PaymentChange.payment_id),
    "auction": (AuctionChange, AuctionChange.auction_id),
}


async def history_of(db: Any, name: str, entity_id: int) -> list[tuple[str | None, str]]:
    def plain(value: Any) -> str | None:
        return value.value if isinstance(value, Enum) else value

    if name in HISTORY:
        model, link = HISTORY[name]
        rows = (await db.execute(select(model).where(link == entity_id).order_by(model.id))).scalars()
    else:
        stmt = select(StatusChange).where(StatusChange.aggregate == name, StatusChange.entity_id == entity_id)
        rows = (await db.execute(stmt.order_by(StatusChange.id))).scalars()
    return [(plain(r.from_status), plain(r.to_status)) for r in rows]


async def events_of(db: Any, name: str, entity_id: int) -> list[tuple[str, dict[str, Any]]]:
    stmt = select(OutboxEvent.topic, OutboxEvent.payload).where(
        OutboxEvent.aggregate_type == name, OutboxEvent.aggregate_id == entity_id
    )
    return [(topic, payload) for topic, payload in (await db.execute(stmt)).all()]


async def audit_lines(db: Any, name: str, entity_id: int) -> int:
    if name != "payment":
        return 0
    stmt = select(func.count()).select_from(PaymentAudit).where(PaymentAudit.payment_id == entity_id)
    return int(await db.scalar(stmt))


# -------------------------------------------------------------------------------- the walk


async def test_every_allowed_move_of_every_table_moves_the_row_and_writes_its_history_and_event(app):
    database = app.state.database
    moves = all_moves()
    assert len(moves) > 30
    async with database.transaction() as db:
        world = await World(db).build()
        actor = world.seller
        for name, source, target in moves:
            aggregate = by_name(name)
            row = await world.row(name, source, target)
            await move(db, row, target, reason=f"walk {source.value} → {target.value}", actor=actor)
            assert row.status is target
            # what the move wrote is reflected on the loaded row, and is what the database holds
            keys = ["status", *aggregate.values(Move(row, source, target, "walk", actor.id, utcnow()))]
            if aggregate.stamps_updated_at:
                keys.append("updated_at")
            written = {key: getattr(row, key) for key in keys}
            row_id = row.id
            db.expire(row)
            fresh = await db.get(type(row), row_id)
            assert {key: getattr(fresh, key) for key in written} == written, (name, source, target)
            assert await history_of(db, name, row_id) == [(source.value, target.value)], (name, source, target)
            [(topic, payload)] = await events_of(db, name, row_id)
            assert topic == aggregate.topic(target), (name, source, target)
            assert payload["from_status"] == source.value and payload["to_status"] == target.value
            if name == "payment":
                assert await audit_lines(db, name, row_id) == 1


def _illegal(aggregate: Aggregate[Any]) -> tuple[Enum, Enum]:
    """A move the table refuses: out of a terminal status."""
    table = aggregate.machine.table
    terminal = next(s for s, targets in table.items() if not targets)
    other = next(s for s in table if s is not terminal)
    return terminal, other


@pytest.mark.parametrize("name", sorted(a.name for a in registered().values()))
async def test_a_disallowed_move_and_a_stale_move_write_nothing(app, name):
    aggregate = by_name(name)
    database = app.state.database
    source, target = next((s, t) for _, s, t in [m for m in all_moves() if m[0] == name])
    terminal, other = _illegal(aggregate)
    async with database.transaction() as db:
        world = await World(db).build()
        done = await world.row(name, terminal)
        moving = await world.row(name, source, target)
        ids = (done.id, moving.id)
        events_before = await db.scalar(select(func.count()).select_from(OutboxEvent))
    async with database.transaction() as db:
        with pytest.raises(IllegalTransition):
            await move(db, await db.get(aggregate.model, ids[0]), other, reason="refused")
    database_stale = database.sessionmaker()
    async with database_stale as slow:
        seen = await slow.get(aggregate.model, ids[1])  # read in `source`
        await slow.commit()
        async with database.transaction() as fast:  # someone else moves it behind the reader's back
            await fast.execute(update(aggregate.model).where(aggregate.model.id == ids[1]).values(status=target))
        with pytest.raises(StaleStatus):
            await move(slow, seen, target, reason="too late")
        assert await try_move(slow, seen, target, reason="too late") is False
        await slow.rollback()
    async with database.transaction() as db:
        assert (await db.get(aggregate.model, ids[0])).status is terminal
        assert (await db.get(aggregate.model, ids[1])).status is target
        for entity_id in ids:
            assert await history_of(db, name, entity_id) == []
            assert await events_of(db, name, entity_id) == []
            assert await audit_lines(db, name, entity_id) == 0
        assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == events_before


# ---------------------------------------------------------------------------- the source scan


def _root_call(node: ast.AST) -> str | None:
    """The name of the call a method chain starts from: ``insert`` for ``insert(T).values(…)``."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            node = node.value
        else:
            return node.id if isinstance(node, ast.Name) else None


def status_writes(tree: ast.AST) -> list[int]:
    """Lines that write ``status`` on an existing row: ``x.status = …`` (but ``self.status`` in an
    ``__init__``), ``.values(status=…)`` / ``.values({"status": …})`` of anything but an INSERT,
    ``set_committed_value(x, "status", …)`` and ``setattr(x, "status", …)``."""
    lines: list[int] = []

    def visit(node: ast.AST, in_init: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_init = node.name == "__init__"
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    if not (in_init and isinstance(target.value, ast.Name) and target.value.id == "self"):
                        lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func_ = node.func
            if isinstance(func_, ast.Attribute) and func_.attr == "values" and _root_call(func_) != "insert":
                keys = [k.arg for k in node.keywords] + [
                    k.value for a in node.args if isinstance(a, ast.Dict) for k in a.keys if isinstance(k, ast.Constant)
                ]
                if "status" in keys:
                    lines.append(node.lineno)
            name = func_.id if isinstance(func_, ast.Name) else getattr(func_, "attr", None)
            if name in ("set_committed_value", "setattr") and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value == "status":
                    lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, in_init)

    visit(tree, False)
    return sorted(set(lines))


def test_the_scan_finds_status_writes():
    source = """
class Problem:
    def __init__(self, status):
        self.status = status          # a new object: fine
def f(db, order):
    order.status = "paid"
    db.execute(update(Order).where(Order.id == 1).values(status="paid"))
    db.execute(update(Order).values({"status": "paid"}))
    db.execute(insert(Order).values(status="created"))   # a new row: fine
    set_committed_value(order, "status", "paid")
    Order(status="created")                              # a new row: fine
"""
    assert status_writes(ast.parse(source)) == [6, 7, 8, 10]


def test_no_module_outside_the_core_writes_a_status_column():
    offenders = []
    for folder in ("app", "tasks"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            if Path(folder, "core") in path.relative_to(PROJECT_ROOT).parents:
                continue
            for line in status_writes(ast.parse(path.read_text(encoding="utf-8"))):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{line}")
    assert offenders == []
