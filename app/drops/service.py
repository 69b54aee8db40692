"""Pressing Buy. The gate answers the crowd from memory; the database makes the final decision
in a short transaction of its own that writes the product row last, so the row is locked only for
the statement that takes a unit and the commit (before the page is rendered)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.transitions import transition
from app.core.errors import DomainError, NotFound
from app.db import Database
from app.drops.gate import Admission, Gate
from app.drops.rules import LIVE_RIGHTS, Outcome, PressResult, key_is_valid
from app.drops.stock import write_ledger
from app.events.outbox import record_event
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, PurchaseRightChange, RightStatus, StockReason
from app.models.members import Member

log = logging.getLogger(__name__)

RIGHT_GRANTED = "drop.right_granted"
_NOT_SELLING = {
    ProductStatus.SCHEDULED: Outcome.NOT_ON_SALE,
    ProductStatus.CONVERSION_PENDING: Outcome.SOLD_OUT,
    ProductStatus.AUCTION_LIVE: Outcome.ENDED,
    ProductStatus.ENDED: Outcome.ENDED,
}


class KeyConflict(DomainError):
    """The idempotency key belongs to another member's press."""


@dataclass(frozen=True)
class Press:
    product_id: int
    member_id: int
    key: str


class DropService:
    def __init__(self, database: Database, gate: Gate, hold_seconds: int) -> None:
        self.database = database
        self.gate = gate
        self.hold = timedelta(seconds=hold_seconds)

    async def press(self, press: Press, now: datetime | None = None) -> PressResult:
        if not key_is_valid(press.key):
            raise DomainError("This Buy button has expired. Reload the page and press it again.")
        answer = await self._admit(press)
        if answer.admission in (Admission.SOLD_OUT, Admission.LIMIT):
            return PressResult(Outcome(answer.admission.value))
        if answer.admission is Admission.REPLAY and (remembered := PressResult.from_gate(answer.stored)):
            result, owner = remembered
            if owner is not None and owner != press.member_id:
                raise KeyConflict("This Buy button belongs to another member's page. Reload the page.")
            return result
        admitted = answer.admission is Admission.ADMITTED
        try:
            result = await self._decide(press, now or utcnow())
        except BaseException:
            if admitted:
                await self._settle(press, "pending-failed", give_back=True)
            raise
        await self._settle(
            press, result.to_gate(press.member_id), give_back=admitted and result.outcome is not Outcome.GRANTED
        )
        return result

    async def _admit(self, press: Press):  # type: ignore[no-untyped-def]
        try:
            return await self.gate.admit(press.product_id, press.member_id, press.key)
        except Exception:  # the gate is an optimisation: without it the database decides alone
            log.warning("drop gate unavailable; deciding in the database", exc_info=True)
            from app.drops.gate import GateAnswer

            return GateAnswer(Admission.UNKNOWN)

    async def _settle(self, press: Press, answer: str, *, give_back: bool) -> None:
        try:
            await self.gate.settle(press.product_id, press.member_id, press.key, answer, give_back=give_back)
        except Exception:
            log.warning("drop gate unavailable while settling a press", exc_info=True)

    async def _decide(self, press: Press, now: datetime) -> PressResult:
        """The database decides in one short transaction of its own. The product row is written last:
        on PostgreSQL its lock is then held for the conditional UPDATE and the commit only, not for
        the dozen statements before them (each of which waits its turn on a busy event loop), so a
        crowd of admitted presses takes units one after another at the database's pace."""
        async with self.database.transaction() as db:
            if (existing := await self._by_key(db, press.key)) is not None:
                return self._replay(existing, press)
            product = (
                await db.execute(
                    select(
                        Product.status,
                        Product.purchase_limit,
                        Product.list_price,
                        Product.fixed_quantity,
                        Product.taken_quantity,
                    ).where(Product.id == press.product_id)
                )
            ).one_or_none()
            if product is None or product.status in (ProductStatus.DRAFT, ProductStatus.CANCELLED):
                raise NotFound("This product does not exist.")
            if product.status is not ProductStatus.ON_SALE:
                return PressResult(_NOT_SELLING.get(product.status, Outcome.NOT_ON_SALE))
            if product.taken_quantity >= product.fixed_quantity:
                return PressResult(Outcome.SOLD_OUT)  # a unit coming back meanwhile goes to the next press
            # One member's presses queue on the member's row (PostgreSQL; NO KEY UPDATE, so rows that
            # merely refer to the member never wait). SQLite has no row locks: the first write below
            # takes its write lock, and every check after it sees every earlier press.
            await db.execute(select(Member.id).where(Member.id == press.member_id).with_for_update(key_share=True))
            right = PurchaseRight(
                product_id=press.product_id,
                member_id=press.member_id,
                idempotency_key=press.key,
                status=RightStatus.HELD,
                unit_price=product.list_price,
                expires_at=now + self.hold,
            )
            db.add(right)
            try:
                await db.flush()
            except IntegrityError:  # the same key pressed at the same moment: the first press answers
                await db.rollback()
                if (existing := await self._by_key(db, press.key)) is None:
                    raise
                return self._replay(existing, press)
            if await self._live_rights(db, press) > product.purchase_limit:  # this right included
                await db.rollback()
                return PressResult(Outcome.LIMIT)
            await self.record_grant(db, press, right)
            # Take the unit: one conditional UPDATE, never more than the fixed quantity.
            taken = (
                await db.execute(
                    update(Product)
                    .where(
                        Product.id == press.product_id,
                        Product.status == ProductStatus.ON_SALE,
                        Product.taken_quantity < Product.fixed_quantity,
                    )
                    .values(taken_quantity=Product.taken_quantity + 1)
                    .returning(Product.taken_quantity)
                    .execution_options(synchronize_session=False)
                )
            ).scalar_one_or_none()
            if taken is None:
                await db.rollback()  # the right, its ledger row and its event go too
                return PressResult(Outcome.SOLD_OUT)
            if taken >= product.fixed_quantity:
                sold_out = await db.get(Product, press.product_id, populate_existing=True)
                assert sold_out is not None
                await transition(
                    db, sold_out, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is taken"
                )
            return PressResult(Outcome.GRANTED, right.id)

    @staticmethod
    async def record_grant(db: AsyncSession, press: Press, right: PurchaseRight) -> None:
        """What every granted right writes besides itself: its history row, the ledger row (the
        unit leaves the stock) and the event the other parts react to."""
        db.add(PurchaseRightChange(right_id=right.id, from_status=None, to_status=RightStatus.HELD, reason="press"))
        await write_ledger(
            db,
            press.product_id,
            -1,
            StockReason.PURCHASE,
            f"purchase:right:{right.id}",
            reference=f"right:{right.id}",
            actor_id=press.member_id,
        )
        await record_event(db, RIGHT_GRANTED, "purchase_right", right.id, product_id=press.product_id)

    @staticmethod
    async def _live_rights(db: AsyncSession, press: Press) -> int:
        return int(
            await db.scalar(
                select(func.count())
                .select_from(PurchaseRight)
                .where(
                    PurchaseRight.product_id == press.product_id,
                    PurchaseRight.member_id == press.member_id,
                    PurchaseRight.status.in_(LIVE_RIGHTS),
                )
            )
            or 0
        )

    @staticmethod
    async def _by_key(db: AsyncSession, key: str) -> PurchaseRight | None:
        return (
            await db.execute(select(PurchaseRight).where(PurchaseRight.idempotency_key == key))
        ).scalar_one_or_none()

    @staticmethod
    def _replay(right: PurchaseRight, press: Press) -> PressResult:
        if right.member_id != press.member_id or right.product_id != press.product_id:
            raise KeyConflict("This Buy button belongs to another member's page. Reload the page.")
        return PressResult(Outcome.GRANTED, right.id, replayed=True)
