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

from app.catalog.transitions import transition
from app.core.errors import DomainError, NotFound
from app.core.lanes import Lanes
from app.db import Database, waiting_for_connections
from app.drops.gate import Answer, Gate, StockChange
from app.drops.rules import LIVE_RIGHTS, Outcome, PressResult, key_is_valid
from app.drops.stock import ledger_entry
from app.events.outbox import add_event
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PressRefusal, PurchaseRight, PurchaseRightChange, RightStatus, StockReason
from app.models.members import Member, MemberStatus

log = logging.getLogger(__name__)

RIGHT_GRANTED = Topic.RIGHT_GRANTED
publishes(RIGHT_GRANTED)
_NOT_SELLING = {
    ProductStatus.SCHEDULED: Outcome.NOT_ON_SALE,
    ProductStatus.CONVERSION_PENDING: Outcome.SOLD_OUT,
    ProductStatus.AUCTION_LIVE: Outcome.ENDED,
    ProductStatus.ENDED: Outcome.ENDED,
}
# Presses decided in one transaction at most (bounds the IN lists and the statement sizes).
MAX_BATCH = 500
# A batch that meets a key pressed at the same moment in another process is decided again.
BATCH_ATTEMPTS = 3


class KeyConflict(DomainError):
    """The idempotency key belongs to another member's press."""


@dataclass(frozen=True)
class Press:
    product_id: int
    member_id: int
    key: str


@dataclass(frozen=True)
class _Waiting:
    press: Press
    now: datetime
    service: DropService  # the one that queued it (one per request); a batch runs with its first's


# The presses of one database queue per product, whichever DropService queued them (one set of
# queues per event loop: a batch's futures and tasks belong to the loop that made them).
_lanes: weakref.WeakKeyDictionary[Database, dict[int, Lanes[_Waiting, PressResult]]] = weakref.WeakKeyDictionary()
# Presses under way: the loop keeps only weak references to its tasks.
_background: set[asyncio.Future[Any]] = set()


class DropService:
    def __init__(self, database: Database, gate: Gate, hold_seconds: int) -> None:
        self.database = database
        self.gate = gate
        self.hold = timedelta(seconds=hold_seconds)
        # A batch waits this long for a database connection before its presses hear an error.
        self.connection_patience = database.settings.batch_connection_patience
        per_loop = _lanes.setdefault(database, {})
        loop = id(asyncio.get_running_loop())
        lanes = per_loop.get(loop)
        if lanes is None:
            lanes = per_loop[loop] = Lanes(_decide_many, max_batch=MAX_BATCH, after=_settle)
        self.lanes = lanes

    async def press(self, press: Press, now: datetime | None = None) -> PressResult:
        """Answer one press. Once queued, a press runs to its end even if the client goes away
        meanwhile (its request is cancelled), so that its batch and its answer are not lost."""
        if not key_is_valid(press.key):
            raise DomainError("This Buy button has expired. Reload the page and press it again.")
        task = asyncio.ensure_future(self._press(press, now or utcnow()))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return await asyncio.shield(task)

    async def _press(self, press: Press, now: datetime) -> PressResult:
        stored = await self._lookup(press)
        if stored is not None and (remembered := PressResult.from_gate(stored)) is not None:
            result, owner = remembered
            if owner != press.member_id:
                raise _conflict()
            return result
        return await self._decide(press, now)

    async def _lookup(self, press: Press) -> str | None:
        try:
            return await self.gate.lookup(press.product_id, press.key)
        except Exception:  # the gate is an optimisation: without it the database answers alone
            log.warning("drop gate unavailable; deciding in the database", exc_info=True)
            return None

    async def _decide(self, press: Press, now: datetime) -> PressResult:
        """Queue the press for its product's next batch and wait for the answer (the batch settles
        the gate)."""
        return await self.lanes.submit(press.product_id, _Waiting(press, now, self))

    # ------------------------------------------------------------------ the decision

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
        product_id = batch[0].press.product_id
        async with self.database.transaction() as db:
            # Lock the product row with a write that changes nothing. On PostgreSQL that is the row
            # lock every decision for this product takes, so the counts read below cannot change
            # until the commit; on SQLite it takes the database's single write lock, to the same end.
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
                    )
                    .execution_options(synchronize_session=False)
                )
            ).one_or_none()
            if product is None or product.status in (ProductStatus.DRAFT, ProductStatus.CANCELLED):
                raise NotFound("This product does not exist.")
            presses = [waiting.press for waiting in batch]
            members = {press.member_id for press in presses}
            keys = {p.key for p in presses}
            existing = {
                right.idempotency_key: right
                for right in (
                    await db.execute(select(PurchaseRight).where(PurchaseRight.idempotency_key.in_(keys)))
                ).scalars()
            }
            refused_before = {
                refusal.key: refusal
                for refusal in (await db.execute(select(PressRefusal).where(PressRefusal.key.in_(keys)))).scalars()
            }
            active = set(
                (
                    await db.execute(
                        select(Member.id).where(Member.id.in_(members), Member.status == MemberStatus.ACTIVE)
                    )
                ).scalars()
            )
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

            taken = product.taken_quantity
            decided: list[PressResult | PurchaseRight | Exception] = []
            first_by_key: dict[str, int] = {}  # a key pressed twice in this batch: the first press answers
            refusals: list[dict[str, Any]] = []
            for waiting in batch:
                press = waiting.press
                if (right := existing.get(press.key)) is not None:
                    decided.append(_replay_or_conflict(right, press))
                    continue
                if (refusal := refused_before.get(press.key)) is not None:
                    decided.append(_refusal_replay(refusal, press))
                    continue
                if (first := first_by_key.get(press.key)) is not None:
                    same_member = batch[first].press.member_id == press.member_id
                    decided.append(first if same_member else _conflict())  # type: ignore[arg-type]
                    continue
                first_by_key[press.key] = len(decided)
                refused: PressResult | None = None
                if product.status is not ProductStatus.ON_SALE:
                    refused = PressResult(_NOT_SELLING.get(product.status, Outcome.NOT_ON_SALE))
                elif press.member_id not in active:
                    refused = PressResult(Outcome.SIGNED_OUT)
                elif holding.get(press.member_id, 0) >= product.purchase_limit:
                    refused = PressResult(Outcome.LIMIT)
                elif taken >= product.fixed_quantity:
                    refused = PressResult(Outcome.SOLD_OUT)
                if refused is not None:
                    decided.append(refused)
                    if refused.final:
                        refusals.append(
                            {
                                "key": press.key,
                                "product_id": product_id,
                                "member_id": press.member_id,
                                "outcome": refused.outcome.value,
                            }
                        )
                else:
                    taken += 1
                    holding[press.member_id] = holding.get(press.member_id, 0) + 1
                    decided.append(
                        PurchaseRight(
                            product_id=product_id,
                            member_id=press.member_id,
                            idempotency_key=press.key,
                            status=RightStatus.HELD,
                            unit_price=product.list_price,
                            expires_at=waiting.now + self.hold,
                        )
                    )

            if refusals:  # one multi-row INSERT; a key taken meanwhile elsewhere makes the batch retry
                await db.execute(insert(PressRefusal), refusals)
            version: int | None = None
            granted = [(p, item) for p, item in zip(presses, decided, strict=True) if isinstance(item, PurchaseRight)]
            if granted:
                db.add_all([right for _, right in granted])
                await db.flush()  # one multi-row INSERT … RETURNING for the ids
                for press, right in granted:
                    add_grant_rows(db, press, right)
                await db.flush()
                # Take the units: one conditional UPDATE, never past the fixed quantity.
                took = (
                    await db.execute(
                        update(Product)
                        .where(
                            Product.id == product_id,
                            Product.status == ProductStatus.ON_SALE,
                            Product.taken_quantity + len(granted) <= Product.fixed_quantity,
                        )
                        .values(
                            taken_quantity=Product.taken_quantity + len(granted),
                            stock_version=Product.stock_version + 1,
                        )
                        .returning(Product.taken_quantity, Product.stock_version)
                        .execution_options(synchronize_session=False)
                    )
                ).one_or_none()
                now_taken, version = took if took is not None else (None, None)
                if now_taken != taken:  # the row is locked: anything else is a bug, and nothing is written
                    raise RuntimeError(f"product {product_id} changed under its lock ({now_taken} != {taken})")
                if taken >= product.fixed_quantity:
                    sold_out = await db.get(Product, product_id, populate_existing=True)
                    assert sold_out is not None
                    await transition(
                        db, sold_out, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is taken"
                    )

        results: list[PressResult | Exception] = []
        for item in decided:
            if isinstance(item, int):  # the same key as an earlier press of this batch
                first = results[item]
                item = replace(first, replayed=True) if isinstance(first, PressResult) else first
            elif isinstance(item, PurchaseRight):
                item = PressResult(Outcome.GRANTED, item.id, expires_at=item.expires_at, stock_version=version)
            results.append(item)
        return results


async def _decide_many(product_id: int, batch: list[_Waiting]) -> list[PressResult | Exception]:
    return await batch[0].service.decide_batch(batch)


async def _settle(product_id: int, batch: list[_Waiting], outcomes: list[PressResult | Exception]) -> None:
    """Tell the gate each press's answer and the batch's change of stock, in one round trip."""
    answers = []
    grants: Counter[int] = Counter()
    version = None
    for waiting, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Exception) or not outcome.final:
            continue
        press = waiting.press
        answers.append(Answer(press.product_id, press.key, outcome.to_gate(press.member_id)))
        if outcome.outcome is Outcome.GRANTED and not outcome.replayed:
            grants[press.member_id] += 1
            version = outcome.stock_version
    change = StockChange(product_id, version, -grants.total(), dict(grants)) if version is not None else None
    try:
        await batch[0].service.gate.settle(answers, change)
    except Exception:
        log.warning("drop gate unavailable while settling %d presses", len(batch), exc_info=True)


def add_grant_rows(db: AsyncSession, press: Press, right: PurchaseRight) -> None:
    """What every granted right writes besides itself: its history row, the ledger row (the unit
    leaves the stock) and the event the other parts react to. Added, not flushed."""
    db.add(PurchaseRightChange(right_id=right.id, from_status=None, to_status=RightStatus.HELD, reason="press"))
    db.add(
        ledger_entry(
            press.product_id,
            -1,
            StockReason.PURCHASE,
            f"purchase:right:{right.id}",
            reference=f"right:{right.id}",
            actor_id=press.member_id,
        )
    )
    add_event(db, RIGHT_GRANTED, "purchase_right", right.id, product_id=press.product_id)


def _conflict() -> KeyConflict:
    return KeyConflict("This Buy button belongs to another member's page. Reload the page.")


def _refusal_replay(refusal: PressRefusal, press: Press) -> PressResult | KeyConflict:
    if refusal.member_id != press.member_id or refusal.product_id != press.product_id:
        return _conflict()
    return PressResult(Outcome(refusal.outcome), replayed=True)


def _replay_or_conflict(right: PurchaseRight, press: Press) -> PressResult | KeyConflict:
    if right.member_id != press.member_id or right.product_id != press.product_id:
        return _conflict()
    return PressResult(Outcome.GRANTED, right.id, replayed=True, expires_at=right.expires_at)
