"""A Buy batch's rows: the snapshot its decision reads (the product row locked, the members' rights
and standing, the keys already answered) and the rows the decision writes (rights with their
history, ledger rows and events, kept refusals, the units taken in one conditional UPDATE)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CompoundSelect, Table, bindparam, func, insert, literal_column, null, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import active_generations_query
from app.catalog.transitions import transition
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.db import any_of
from app.drops.row_lock import product_lock
from app.drops.rules import (
    LIVE_RIGHTS,
    Answered,
    Conflicted,
    DropDecision,
    DropSnapshot,
    Granted,
    KnownRight,
    Outcome,
    Press,
    PressResult,
    Refusal,
    SameAs,
)
from app.drops.stock import ledger_entry
from app.events.outbox import add_event
from app.events.topics import Topic
from app.models.catalog import Product, ProductStatus
from app.models.drops import PressRefusal, PurchaseRight, PurchaseRightChange, RightStatus, StockReason
from app.observability.tracing import TraceContext

log = logging.getLogger(__name__)


async def lock_product(db: AsyncSession, product_id: int) -> Any:
    """Lock the product's row and read what a batch is decided on; NotFound when there is no such
    product on the shop. The lock is a write that changes nothing: on PostgreSQL the row lock every
    decision for this product takes, so the counts a batch reads after it cannot change until the
    commit; on SQLite the database's single write lock, to the same end."""
    product = (await db.execute(_LOCK, {"product_id": product_id})).one_or_none()
    if product is None or product.status in (ProductStatus.DRAFT, ProductStatus.CANCELLED):
        raise NotFound(_("This product does not exist."))
    return product


# A batch's statements are built once: building a statement costs more CPU than running it, and a
# batch of one press (a quiet drop, a sold-out one) pays them alone.
_products = cast(Table, Product.__table__)
_rights = cast(Table, PurchaseRight.__table__)
_refusals = cast(Table, PressRefusal.__table__)
# Core statements (the tables, not the mapped classes): the ORM's own steps for each execution are
# of no use to them.
_LOCK = product_lock(
    _products.c.status,
    _products.c.purchase_limit,
    _products.c.list_price,
    _products.c.fixed_quantity,
    _products.c.taken_quantity,
    _products.c.seller_id,
    _products.c.sale_mode,
)


async def load_snapshot(
    db: AsyncSession, product_id: int, presses: list[Press], hold: timedelta, product: Any
) -> DropSnapshot:
    """What the batch's presses are decided on, once ``lock_product`` has locked the product's row
    and read ``product``: the rights and kept refusals of its keys, its members' session generations
    and the live rights they hold, read in one statement (``snapshot_rows``): one round trip under
    the row lock, which a batch of a single press pays alone."""
    members = {press.member_id for press in presses}
    keys = {p.key for p in presses}
    rights: dict[str, KnownRight] = {}
    refusals: dict[str, Refusal] = {}
    generations: dict[int, int] = {}
    holding: dict[int, int] = {}
    dialect = db.get_bind().dialect.name
    params = {"product_id": product_id, "keys": list(keys), "members": list(members)}
    for tag, key, a, b, c, expires_at, outcome in await db.execute(snapshot_rows(dialect), params):
        if tag == _RIGHT:
            rights[key] = KnownRight(a, b, c, expires_at)
        elif tag == _REFUSAL:
            refusals[key] = Refusal(key, b, c, Outcome(outcome))
        elif tag == _GENERATION:
            generations[a] = b
        else:
            holding[a] = b
    # the product's columns read above (status, purchase limit, price, quantities, seller) by their names
    snapshot = DropSnapshot(
        product_id, hold=hold, holding=holding, rights=rights, refusals=refusals, **product._mapping
    )
    return replace(snapshot, active=frozenset(generations), generations=generations)  # who may still press


_RIGHT, _REFUSAL, _GENERATION, _HOLDING = 0, 1, 2, 3


@functools.cache
def snapshot_rows(dialect: str) -> CompoundSelect[Any]:
    """The four reads of a batch's snapshot as one UNION ALL of rows (tag, key, a, b, c, expires at,
    outcome), for the parameters ``product_id``, ``keys`` and ``members``: a right of one of the
    keys (key, id, member, product, expires at), a kept refusal of one (key, member, product,
    outcome), an active member's session generation (member, generation) and the live rights a
    member holds for this product (member, count). Built once per SQL dialect."""

    def tag(value: int) -> Any:
        return literal_column(str(value))

    nothing = null()
    active = active_generations_query(lambda column: any_of(dialect, column, "members")).subquery()
    return union_all(
        select(
            tag(_RIGHT),
            _rights.c.idempotency_key,
            _rights.c.id,
            _rights.c.member_id,
            _rights.c.product_id,
            _rights.c.expires_at,
            nothing,
        ).where(any_of(dialect, _rights.c.idempotency_key, "keys")),
        select(
            tag(_REFUSAL),
            _refusals.c.key,
            nothing,
            _refusals.c.member_id,
            _refusals.c.product_id,
            nothing,
            _refusals.c.outcome,
        ).where(any_of(dialect, _refusals.c.key, "keys")),
        select(tag(_GENERATION), nothing, active.c.id, active.c.session_generation, nothing, nothing, nothing),
        select(tag(_HOLDING), nothing, _rights.c.member_id, func.count(), nothing, nothing, nothing)
        .where(
            _rights.c.product_id == bindparam("product_id"),
            any_of(dialect, _rights.c.member_id, "members"),
            _rights.c.status.in_(LIVE_RIGHTS),
        )
        .group_by(_rights.c.member_id),
    )


async def write_decision(
    db: AsyncSession, snapshot: DropSnapshot, decision: DropDecision, traces: Mapping[str, TraceContext] | None = None
) -> tuple[dict[str, PurchaseRight], int | None]:
    """The batch's writes: the kept refusals, the granted rights with their rows, the units taken
    (one conditional UPDATE, which raises the stock version) and the move to conversion when the
    last unit went. Returns the new rights by key and the product's new stock version. ``traces``:
    the trace context of each key's press, for its right's event (else the current one)."""
    product_id = snapshot.product_id
    if decision.refusals:  # one multi-row INSERT; a key taken meanwhile elsewhere makes the batch retry
        rows = [
            {"key": r.key, "product_id": product_id, "member_id": r.member_id, "outcome": r.outcome.value}
            for r in decision.refusals
        ]
        await db.execute(_KEEP_REFUSALS, rows)
    if not decision.grants:
        return {}, None
    rights = {g.key: held_right(product_id, g.member_id, g.key, g.unit_price, g.expires_at) for g in decision.grants}
    db.add_all(list(rights.values()))
    await db.flush()  # one multi-row INSERT … RETURNING for the ids
    for grant in decision.grants:
        trace = (traces or {}).get(grant.key)
        add_grant_rows(db, Press(product_id, grant.member_id, grant.key), rights[grant.key], trace)
    await db.flush()
    version = await take_units(db, product_id, len(rights), decision.taken_quantity)
    if decision.sold_out:
        sold_out = await db.get(Product, product_id, populate_existing=True)
        assert sold_out is not None
        await transition(db, sold_out, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is taken")
    return rights, version


async def take_units(db: AsyncSession, product_id: int, count: int, expected: int) -> int:
    """Take the units: one conditional UPDATE, never past the fixed quantity; the new stock version."""
    took = (
        await db.execute(
            update(Product)
            .where(
                Product.id == product_id,
                Product.status == ProductStatus.ON_SALE,
                Product.taken_quantity + count <= Product.fixed_quantity,
            )
            .values(taken_quantity=Product.taken_quantity + count, stock_version=Product.stock_version + 1)
            .returning(Product.taken_quantity, Product.stock_version)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if took is None or took[0] != expected:  # the row is locked: anything else is a bug, and nothing is written
        raise RuntimeError(f"product {product_id} changed under its lock ({took and took[0]} != {expected})")
    return int(took[1])


_KEEP_REFUSALS = insert(_refusals)


def press_results(
    decision: DropDecision, rights: dict[str, PurchaseRight], version: int | None
) -> list[PressResult | Exception]:
    results: list[PressResult | Exception] = []
    for answer in decision.answers:
        item: PressResult | Exception
        match answer:
            case Answered(result):
                item = result
            case Granted(grant):
                right = rights[grant.key]
                item = PressResult(Outcome.GRANTED, right.id, expires_at=right.expires_at, stock_version=version)
            case Conflicted():
                item = key_conflict()
            case SameAs(first):  # the same key as an earlier press of this batch
                earlier = results[first]
                item = replace(earlier, replayed=True) if isinstance(earlier, PressResult) else earlier
        results.append(item)
    return results


def held_right(product_id: int, member_id: int, key: str, unit_price: int, expires_at: datetime) -> PurchaseRight:
    """The row of a right granted to the press of ``key``, held until it is paid, given up or its
    time is up. Not added."""
    return PurchaseRight(
        product_id=product_id,
        member_id=member_id,
        idempotency_key=key,
        status=RightStatus.HELD,
        unit_price=unit_price,
        expires_at=expires_at,
    )


def add_grant_rows(db: AsyncSession, press: Press, right: PurchaseRight, trace: TraceContext | None = None) -> None:
    """What every granted right writes besides itself: its history row, the ledger row (the unit
    leaves the stock) and the event the other parts react to, in the press's ``trace`` (None: the
    current one). Added, not flushed."""
    db.add(PurchaseRightChange(right_id=right.id, from_status=None, to_status=RightStatus.HELD, reason="press"))
    db.add(ledger_entry(press.product_id, -1, StockReason.PURCHASE, f"right:{right.id}", actor_id=press.member_id))
    add_event(db, Topic.RIGHT_GRANTED, "purchase_right", right.id, trace_context=trace, product_id=press.product_id)


class KeyConflict(DomainError):
    """The idempotency key belongs to another member's press."""


def key_conflict() -> KeyConflict:
    return KeyConflict(_("This Buy button belongs to another member's page. Reload the page."))
