"""Pressing Buy. The database decides every press and keeps every answer; the gate remembers the
answers, so a replayed key is answered from memory.

Presses whose key the gate does not know queue per product in this process and are decided in
batches, in their order of arrival: one short transaction locks the product row, decides every
queued press (a key that already has an answer — a right, or a kept refusal — gets that answer; then
the member's standing and limit, units left), writes the granted rights with their history rows,
ledger rows and events, the refusals with their keys, takes the units with one conditional UPDATE
(which also raises the product's stock version) and commits. While a batch runs, the next presses
queue behind it. A crowd therefore costs a handful of transactions instead of one each.

A key keeps its answer for its life: "Yours!" stays that right (a replay after the right expired
or was paid says so), and a refusal (sold out, limit, not on sale, ended) stays that refusal, even
if units come back later: pressing again (the page's new key) asks again. Only a press from a member
who was signed out meanwhile is not kept.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import active_generations
from app.catalog.transitions import transition
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.lanes import Lanes
from app.db import Database, waiting_for_connections
from app.drops.gate import Gate, StockChange
from app.drops.rules import (
    LIVE_RIGHTS,
    NOT_SELLING,
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
    decide,
    key_is_valid,
)
from app.drops.stock import ledger_entry
from app.events.outbox import add_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PressRefusal, PurchaseRight, PurchaseRightChange, RightStatus, StockReason
from app.observability.metrics import batch_observer, count_gate_lookup, count_press

__all__ = ["BATCH_ATTEMPTS", "MAX_BATCH", "DropService", "KeyConflict", "Press", "add_grant_rows", "held_right"]

log = logging.getLogger(__name__)

publishes(Topic.RIGHT_GRANTED)
_NOT_SELLING = NOT_SELLING
# Presses decided in one transaction at most (bounds the IN lists and the statement sizes).
MAX_BATCH = 500
# A batch that meets a key pressed at the same moment in another process is decided again.
BATCH_ATTEMPTS = 3


class KeyConflict(DomainError):
    """The idempotency key belongs to another member's press."""


@dataclass(frozen=True)
class _Waiting:
    press: Press
    now: datetime


# Presses under way, in every service of the process: the loop keeps only weak references to its tasks.
_background: set[asyncio.Future[Any]] = set()


class DropService:
    """Built once per app (or per request: each instance has its own queues). The presses of one
    product queue in the instance's lanes for the running event loop (a batch's futures and tasks
    belong to the loop that made them)."""

    def __init__(self, database: Database, gate: Gate, hold_seconds: int) -> None:
        self.database = database
        self.gate = gate
        self.hold = timedelta(seconds=hold_seconds)
        # A batch waits this long for a database connection before its presses hear an error.
        self.connection_patience = database.settings.batch_connection_patience
        self._lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Lanes[_Waiting, PressResult]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def lanes(self) -> Lanes[_Waiting, PressResult]:
        """The queues per product on the running event loop."""
        loop = asyncio.get_running_loop()
        lanes = self._lanes.get(loop)
        if lanes is None:
            lanes = self._lanes[loop] = Lanes(
                self._run, max_batch=MAX_BATCH, after=self._settle, observe=batch_observer("drop")
            )
        return lanes

    async def press(self, press: Press, now: datetime | None = None) -> PressResult:
        """Answer one press. Once queued, a press runs to its end even if the client goes away
        meanwhile (its request is cancelled), so that its batch and its answer are not lost."""
        if not key_is_valid(press.key):
            count_press("invalid_key")
            raise DomainError(_("This Buy button has expired. Reload the page and press it again."))
        task = asyncio.ensure_future(self._press(press, now or utcnow()))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return await asyncio.shield(task)

    async def _press(self, press: Press, now: datetime) -> PressResult:
        """The press's answer, counted by outcome once it is known (the client may be gone)."""
        try:
            result = await self._answer(press, now)
        except KeyConflict:
            count_press("key_conflict")
            raise
        except NotFound:
            count_press("not_found")
            raise
        except Exception:
            count_press("error")
            raise
        count_press("replayed" if result.replayed else result.outcome.value)
        return result

    async def _answer(self, press: Press, now: datetime) -> PressResult:
        stored = await self._lookup(press)
        remembered = PressResult.from_gate(stored) if isinstance(stored, str) else None
        if remembered is None:
            if stored is not False:
                count_gate_lookup("database")
            return await self._decide(press, now)
        count_gate_lookup("gate")
        result, owner = remembered
        if owner != press.member_id:
            raise _conflict()
        return result

    async def _lookup(self, press: Press) -> str | bool | None:
        """The gate's answer for the key, None when it has none, False when the gate failed."""
        try:
            return await self.gate.lookup(press.product_id, press.key)
        except Exception:  # the gate is an optimisation: without it the database answers alone
            log.warning("drop gate unavailable; deciding in the database", exc_info=True)
            count_gate_lookup("unavailable")
            return False

    async def _decide(self, press: Press, now: datetime) -> PressResult:
        """Queue the press for its product's next batch and wait for the answer (the batch settles
        the gate)."""
        return await self.lanes.submit(press.product_id, _Waiting(press, now))

    # ------------------------------------------------------------------ the decision

    async def _run(self, product_id: int, batch: list[_Waiting]) -> list[PressResult | Exception]:
        return await self.decide_batch(batch)

    async def decide_batch(self, batch: list[_Waiting]) -> list[PressResult | Exception]:
        async def attempts() -> list[PressResult | Exception]:
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                try:
                    return await self._decide_batch(batch)
                except IntegrityError:
                    # A key of this batch was committed meanwhile by a press in another process:
                    # the next attempt finds it and answers that press as a replay.
                    if attempt == BATCH_ATTEMPTS:
                        raise
            raise AssertionError("unreachable")

        # No connection to be had (a crowd, a database restarting): the batch waits for one.
        return await waiting_for_connections(attempts, patience=self.connection_patience, what="a Buy batch")

    async def _decide_batch(self, batch: list[_Waiting]) -> list[PressResult | Exception]:
        """One transaction: load the product's snapshot (locking its row), decide, write."""
        presses = [(waiting.press, waiting.now) for waiting in batch]
        async with self.database.transaction() as db:
            snapshot = await load_snapshot(db, batch[0].press.product_id, [p for p, _answer in presses], self.hold)
            decision = decide(snapshot, presses)
            rights, version = await write_decision(db, snapshot, decision)
        return _results(decision, rights, version)

    async def _settle(self, product_id: int, batch: list[_Waiting], outcomes: list[PressResult | Exception]) -> None:
        """Tell the gate each press's answer and the batch's change of stock, in one round trip."""
        answers: dict[str, str] = {}
        grants: Counter[int] = Counter()
        version = None
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception) or not outcome.final:
                continue
            press = waiting.press
            answers[press.key] = outcome.to_gate(press.member_id)
            if outcome.outcome is Outcome.GRANTED and not outcome.replayed:
                grants[press.member_id] += 1
                version = outcome.stock_version
        change = StockChange(product_id, version, -grants.total(), dict(grants)) if version is not None else None
        try:
            await self.gate.settle(product_id, answers, change)
        except Exception:
            log.warning("drop gate unavailable while settling %d presses", len(batch), exc_info=True)


async def load_snapshot(db: AsyncSession, product_id: int, presses: list[Press], hold: timedelta) -> DropSnapshot:
    """The product (its row locked) and what the batch's presses are decided on; NotFound when
    there is no such product on the shop."""
    # Lock the product row with a write that changes nothing. On PostgreSQL that is the row lock
    # every decision for this product takes, so the counts read below cannot change until the
    # commit; on SQLite it takes the database's single write lock, to the same end.
    product = (
        await db.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(taken_quantity=Product.taken_quantity, updated_at=Product.updated_at)
            .returning(
                Product.status,
                Product.purchase_limit,
                Product.list_price,
                Product.fixed_quantity,
                Product.taken_quantity,
                Product.seller_id,
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if product is None or product.status in (ProductStatus.DRAFT, ProductStatus.CANCELLED):
        raise NotFound(_("This product does not exist."))
    members = {press.member_id for press in presses}
    keys = {p.key for p in presses}
    rights = {
        right.idempotency_key: KnownRight(right.id, right.member_id, right.product_id, right.expires_at)
        for right in (await db.execute(select(PurchaseRight).where(PurchaseRight.idempotency_key.in_(keys)))).scalars()
    }
    refusals = {
        refusal.key: Refusal(refusal.key, refusal.member_id, refusal.product_id, Outcome(refusal.outcome))
        for refusal in (await db.execute(select(PressRefusal).where(PressRefusal.key.in_(keys)))).scalars()
    }
    generations = await active_generations(db, members)
    holding: dict[int, int] = {
        member_id: count
        for member_id, count in (
            await db.execute(
                select(PurchaseRight.member_id, func.count())
                .where(
                    PurchaseRight.product_id == product_id,
                    PurchaseRight.member_id.in_(members),
                    PurchaseRight.status.in_(LIVE_RIGHTS),
                )
                .group_by(PurchaseRight.member_id)
            )
        ).all()
    }
    # the product's columns read above (status, purchase limit, price, quantities, seller) by their names
    snapshot = DropSnapshot(
        product_id, hold=hold, holding=holding, rights=rights, refusals=refusals, **product._mapping
    )
    return replace(snapshot, active=frozenset(generations), generations=generations)  # who may still press


async def write_decision(
    db: AsyncSession, snapshot: DropSnapshot, decision: DropDecision
) -> tuple[dict[str, PurchaseRight], int | None]:
    """The batch's writes: the kept refusals, the granted rights with their rows, the units taken
    (one conditional UPDATE, which raises the stock version) and the move to conversion when the
    last unit went. Returns the new rights by key and the product's new stock version."""
    product_id = snapshot.product_id
    if decision.refusals:  # one multi-row INSERT; a key taken meanwhile elsewhere makes the batch retry
        rows = [
            {"key": r.key, "product_id": product_id, "member_id": r.member_id, "outcome": r.outcome.value}
            for r in decision.refusals
        ]
        await db.execute(insert(PressRefusal), rows)
    if not decision.grants:
        return {}, None
    rights = {g.key: held_right(product_id, g.member_id, g.key, g.unit_price, g.expires_at) for g in decision.grants}
    db.add_all(list(rights.values()))
    await db.flush()  # one multi-row INSERT … RETURNING for the ids
    for grant in decision.grants:
        add_grant_rows(db, Press(product_id, grant.member_id, grant.key), rights[grant.key])
    await db.flush()
    version = await _take_units(db, product_id, len(rights), decision.taken_quantity)
    if decision.sold_out:
        sold_out = await db.get(Product, product_id, populate_existing=True)
        assert sold_out is not None
        await transition(db, sold_out, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is taken")
    return rights, version


async def _take_units(db: AsyncSession, product_id: int, count: int, expected: int) -> int:
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


def _results(
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
                item = _conflict()
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


def add_grant_rows(db: AsyncSession, press: Press, right: PurchaseRight) -> None:
    """What every granted right writes besides itself: its history row, the ledger row (the unit
    leaves the stock) and the event the other parts react to. Added, not flushed."""
    db.add(PurchaseRightChange(right_id=right.id, from_status=None, to_status=RightStatus.HELD, reason="press"))
    db.add(ledger_entry(press.product_id, -1, StockReason.PURCHASE, f"right:{right.id}", actor_id=press.member_id))
    add_event(db, Topic.RIGHT_GRANTED, "purchase_right", right.id, product_id=press.product_id)


def _conflict() -> KeyConflict:
    return KeyConflict(_("This Buy button belongs to another member's page. Reload the page."))


def _replay_or_conflict(right: PurchaseRight, press: Press) -> PressResult | KeyConflict:
    """A stored right's answer to a press of its key (the one-press path of the bench uses it)."""
    if right.member_id != press.member_id or right.product_id != press.product_id:
        return _conflict()
    return PressResult(Outcome.GRANTED, right.id, replayed=True, expires_at=right.expires_at)
