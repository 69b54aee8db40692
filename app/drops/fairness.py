"""A drop's fairness report, for its seller and the administrators: how the fixed-price units
went, by the listing's sale mode. First come: the presses refused and how soon the last unit
went. Waiting room: who joined (before the start, so shuffled, or after), when the places were let
in, how many bought, and the time from admission to purchase. Draw: the entries, the winners, the
later offers and the data that verifies the draw. Never a member's identity. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import current_zone
from app.drops import draw_results
from app.drops.fairness_rules import Minute, Spread, per_minute, spread
from app.drops.ledger import product_for
from app.models.base import utcnow
from app.models.catalog import Product, SaleMode
from app.models.drops import PressRefusal, PurchaseRight, RightStatus
from app.models.lines import Admission, LinePlace
from app.models.members import Member


@dataclass(frozen=True)
class Rights:
    """The fixed-price purchase rights of the drop, by status."""

    held: int = 0
    paid: int = 0
    expired: int = 0
    cancelled: int = 0

    @property
    def granted(self) -> int:
        return self.held + self.paid + self.expired + self.cancelled


@dataclass(frozen=True)
class FirstCome:
    refused: int  # presses refused (and kept with their key): sold out, limit, not yet on sale, ended
    last_unit_after: timedelta | None  # from the start until the last right was granted


@dataclass(frozen=True)
class Line:
    joined: int
    joined_before_start: int  # their order was drawn with the seed at the start
    let_in: int
    bought: int  # admissions whose press got a purchase right
    expired_unused: int
    waiting: int  # admissions still open (issued, unused, not expired)
    minutes: list[Minute]  # let in per minute of the viewer's time (``done``: of those, bought)
    to_right: Spread  # from admission to the Buy press that got the purchase right
    to_payment: Spread  # from admission to the payment


@dataclass(frozen=True)
class Draw:
    """A draw's counts and the data that verifies it (``seed`` None until it is made)."""

    entries: int
    commitment: str | None
    seed: str | None
    commitment_ok: bool | None
    units: int
    winners: int
    later: int  # units offered down the draw order after a winner did not pay
    paid: int


@dataclass(frozen=True)
class Report:
    product: Product
    rights: Rights
    first_come: FirstCome | None = None
    line: Line | None = None
    draw: Draw | None = None


class FairnessService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def product(self, product_id: int, *, seller: Member | None = None) -> Product:
        """The product, or NotFound; with ``seller``, only that seller's own products."""
        return await product_for(self.db, product_id, seller)

    async def report(self, product: Product) -> Report:
        rights = await self._rights(product.id)
        if product.sale_mode is SaleMode.WAITING_ROOM:
            return Report(product, rights, line=await self._line(product))
        if product.sale_mode is SaleMode.DRAW:
            return Report(product, rights, draw=await self._draw(product))
        return Report(product, rights, first_come=await self._first_come(product))

    async def _rights(self, product_id: int) -> Rights:
        query = (
            select(PurchaseRight.status, func.count())
            .where(PurchaseRight.product_id == product_id)
            .group_by(PurchaseRight.status)
        )
        counts = {RightStatus(status): int(n) for status, n in (await self.db.execute(query)).all()}
        return Rights(**{status.value: counts.get(status, 0) for status in RightStatus})

    async def _first_come(self, product: Product) -> FirstCome:
        refused = await self.db.scalar(
            select(func.count()).select_from(PressRefusal).where(PressRefusal.product_id == product.id)
        )
        last = await self.db.scalar(
            select(func.max(PurchaseRight.created_at)).where(PurchaseRight.product_id == product.id)
        )
        sold_out = product.taken_quantity >= product.fixed_quantity > 0
        after = last - product.sale_starts_at if sold_out and last is not None else None
        return FirstCome(int(refused or 0), after)

    async def _line(self, product: Product) -> Line:
        joined, early = (
            await self.db.execute(
                select(
                    func.count(),
                    func.count().filter(LinePlace.joined_at < product.sale_starts_at),
                ).where(LinePlace.product_id == product.id)
            )
        ).one()
        query = (
            select(
                Admission.issued_at,
                Admission.expires_at,
                Admission.used_at,
                PurchaseRight.created_at,
                PurchaseRight.status,
                PurchaseRight.decided_at,
            )
            .outerjoin(PurchaseRight, PurchaseRight.idempotency_key == Admission.press_key)
            .where(Admission.product_id == product.id)
            .order_by(Admission.place)
        )
        rows = (await self.db.execute(query)).all()
        moment = utcnow()
        bought = [row for row in rows if row.created_at is not None]
        paid = [row for row in bought if row.status is RightStatus.PAID and row.decided_at is not None]
        return Line(
            joined=int(joined),
            joined_before_start=int(early),
            let_in=len(rows),
            bought=len(bought),
            expired_unused=sum(1 for row in rows if row.used_at is None and row.expires_at <= moment),
            waiting=sum(1 for row in rows if row.used_at is None and row.expires_at > moment),
            minutes=per_minute(((row.issued_at, row.created_at is not None) for row in rows), current_zone()),
            # the press that got the right went through the door with the admission at ``used_at``
            to_right=spread(row.used_at - row.issued_at for row in bought if row.used_at is not None),
            to_payment=spread(row.decided_at - row.issued_at for row in paid),
        )

    async def _draw(self, product: Product) -> Draw:
        entries = await draw_results.entry_count(self.db, product.id)
        made = await draw_results.results(self.db, product, 1)
        if made is None:
            return Draw(entries, product.draw_commitment, None, None, 0, 0, 0, 0)
        offers = [*made.winners, *made.later]
        return Draw(
            entries=entries,
            commitment=product.draw_commitment,
            seed=made.seed,
            commitment_ok=made.commitment_ok,
            units=made.units,
            winners=len(made.winners),
            later=len(made.later),
            paid=sum(1 for offer in offers if offer.right is RightStatus.PAID),
        )
