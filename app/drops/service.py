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
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.lanes import Lanes
from app.db import Database, waiting_for_connections
from app.drops.batch_rows import (
    KeyConflict,
    add_grant_rows,
    held_right,
    key_conflict,
    load_snapshot,
    lock_product,
    press_results,
    write_decision,
)
from app.drops.gate import Gate, StockChange
from app.drops.rules import (
    NOT_SELLING,
    Outcome,
    Press,
    PressResult,
    decide,
    key_is_valid,
)
from app.drops.telemetry import BatchRecord, DropTelemetry, telemetry_for
from app.events.topics import Topic, publishes
from app.models.base import utcnow
from app.models.drops import PurchaseRight
from app.observability.metrics import batch_observer, count_gate_lookup, count_press
from app.observability.tracing import TraceContext, current_trace_context

__all__ = ["BATCH_ATTEMPTS", "MAX_BATCH", "DropService", "KeyConflict", "Press", "add_grant_rows", "held_right"]

log = logging.getLogger(__name__)

publishes(Topic.RIGHT_GRANTED)
_NOT_SELLING = NOT_SELLING
# Presses decided in one transaction at most (bounds the IN lists and the statement sizes).
MAX_BATCH = 500
# A batch that meets a key pressed at the same moment in another process is decided again.
BATCH_ATTEMPTS = 3


@dataclass(frozen=True)
class _Waiting:
    press: Press
    now: datetime
    # The press's own trace (its request's): the batch runs in the first press's task, and each
    # granted right's event carries the trace of the press it answers.
    trace: TraceContext = field(default_factory=current_trace_context)


# Presses under way, in every service of the process: the loop keeps only weak references to its tasks.
_background: set[asyncio.Future[Any]] = set()


class DropService:
    """Built once per app (or per request: each instance has its own queues). The presses of one
    product queue in the instance's lanes for the running event loop (a batch's futures and tasks
    belong to the loop that made them)."""

    def __init__(
        self, database: Database, gate: Gate, hold_seconds: int, telemetry: DropTelemetry | None = None
    ) -> None:
        self.database = database
        self.gate = gate
        self._telemetry = telemetry  # None: the process's own (``telemetry_for``), on the running loop
        self._decision_seconds: dict[int, float] = {}  # a batch (by id) → how long its decision took
        self.hold = timedelta(seconds=hold_seconds)
        # A batch waits this long for a database connection before its presses hear an error.
        self.connection_patience = database.settings.batch_connection_patience
        self._lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Lanes[_Waiting, PressResult]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def telemetry(self) -> DropTelemetry:
        """Where the batches are counted (the operations page reads it)."""
        return self._telemetry or telemetry_for(self.database.settings)

    @property
    def lanes(self) -> Lanes[_Waiting, PressResult]:
        """The queues per product on the running event loop."""
        loop = asyncio.get_running_loop()
        lanes = self._lanes.get(loop)
        if lanes is None:
            lanes = self._lanes[loop] = Lanes(
                self._run, max_batch=MAX_BATCH, after=self._settle, observe=batch_observer("drop"), late=True
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
            raise key_conflict()
        self.telemetry.note_replay(press.product_id, result.outcome.value, now)
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

    async def _run(self, product_id: int, take: Callable[[], list[_Waiting]]) -> list[PressResult | Exception]:
        started = time.perf_counter()
        try:
            return await self.decide_batch(take, product_id)
        finally:  # read by ``_settle``, which the lanes call with this same batch
            self._decision_seconds[id(take())] = time.perf_counter() - started

    async def decide_batch(
        self, batch: list[_Waiting] | Callable[[], list[_Waiting]], product_id: int | None = None
    ) -> list[PressResult | Exception]:
        """Decide ``batch``, or (a callable) the presses it gives once the product's row is locked:
        the lane's presses are taken only then, so a batch that waited for the lock while another
        process's batch held it decides every press that arrived meanwhile, and the two
        processes' batches follow each other in the order the presses came."""
        take = batch if callable(batch) else (lambda: batch)
        product = product_id if product_id is not None else take()[0].press.product_id

        async def attempts() -> list[PressResult | Exception]:
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                try:
                    return await self._decide_batch(product, take)
                except IntegrityError:
                    # A key of this batch was committed meanwhile by a press in another process:
                    # the next attempt finds it and answers that press as a replay.
                    if attempt == BATCH_ATTEMPTS:
                        raise
            raise AssertionError("unreachable")

        # No connection to be had (a crowd, a database restarting): the batch waits for one.
        return await waiting_for_connections(attempts, patience=self.connection_patience, what="a Buy batch")

    async def _decide_batch(self, product_id: int, take: Callable[[], list[_Waiting]]) -> list[PressResult | Exception]:
        """One transaction: lock the product's row, take the batch, load its snapshot, decide, write."""
        async with self.database.transaction() as db:
            product = await lock_product(db, product_id)
            batch = take()
            presses = [(waiting.press, waiting.now) for waiting in batch]
            traces: dict[str, TraceContext] = {}
            for waiting in batch:
                traces.setdefault(waiting.press.key, waiting.trace)  # a key's first press is the one granted
            snapshot = await load_snapshot(db, product_id, [p for p, _answer in presses], self.hold, product)
            decision = decide(snapshot, presses)
            rights, version = await write_decision(db, snapshot, decision, traces)
        return press_results(decision, rights, version)

    async def _settle(self, product_id: int, batch: list[_Waiting], outcomes: list[PressResult | Exception]) -> None:
        """Tell the gate the batch's answers and count the batch, side by side (a round trip each)."""
        elapsed = self._decision_seconds.pop(id(batch), 0.0)
        counts = Counter(_outcome_name(outcome) for outcome in outcomes)
        record = BatchRecord(product_id, len(batch), elapsed, counts, utcnow())
        await asyncio.gather(self._settle_gate(product_id, batch, outcomes), self.telemetry.record_batch(record))

    async def _settle_gate(
        self, product_id: int, batch: list[_Waiting], outcomes: list[PressResult | Exception]
    ) -> None:
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


def _outcome_name(outcome: PressResult | Exception) -> str:
    """How the telemetry counts a press's answer: its outcome, or what went wrong."""
    if isinstance(outcome, PressResult):
        return outcome.outcome.value
    return "conflict" if isinstance(outcome, KeyConflict) else "error"


def _replay_or_conflict(right: PurchaseRight, press: Press) -> PressResult | KeyConflict:
    """A stored right's answer to a press of its key (the one-press path of the bench uses it)."""
    if right.member_id != press.member_id or right.product_id != press.product_id:
        return key_conflict()
    return PressResult(Outcome.GRANTED, right.id, replayed=True, expires_at=right.expires_at)
