"""A waiting room's line: members join it from the time it opens, and each sees their place, how
many places have been let in, the wait they can expect and, once their place is let in, their
admission. The places are written once (``line_places``) and admitted by ``admissions``; a view
reads the member's own rows and a count or two, never the whole line. What every member of a line
sees alike (``line_state``: the places let in, the members in it, whether the units are gone or
the sale is over) is the line hub's, pushed to their pages after each commit that changes it.
Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.sale_mode_rules import line_opens_at
from app.core.errors import DomainError
from app.core.i18n import _
from app.drops import admissions
from app.drops.admissions import Pass
from app.drops.draw_rules import new_seed
from app.drops.line_places import Line, lock_line, next_place, read_line, record_places
from app.drops.line_rules import admitted_by, estimated_wait
from app.drops.purchases import public_product
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.lines import LinePlace
from app.models.members import Member
from app.settings import Settings

_SELLING = (ProductStatus.SCHEDULED, ProductStatus.ON_SALE)
# The line may still move (a sale opening, a unit coming back) only while the sale runs.
_RUNNING = (ProductStatus.SCHEDULED, ProductStatus.ON_SALE, ProductStatus.CONVERSION_PENDING, ProductStatus.HIDDEN)


@dataclass(frozen=True)
class Standing:
    """Where a member stands in a line at a moment. Before the start ``place`` and ``wait`` are
    None: the order of the early joiners is only drawn at the start. ``admission`` is the member's
    once their place is let in; ``sold_out``: every unit is taken and none is held for a place let
    in (units not paid in time may still come back); ``closed``: the sale is over; ``rate``: the
    places let in a minute (None before the start)."""

    place: int | None
    total: int
    admitted: int
    wait: timedelta | None
    starts_at: datetime
    admission: Pass | None = None
    sold_out: bool = False
    closed: bool = False
    rate: int | None = None

    @property
    def turn(self) -> bool:
        """The member's place has been let in."""
        return self.place is not None and self.place <= self.admitted

    @property
    def phase(self) -> str:
        """What the member's part of the line page shows: ``before`` the places are drawn, their
        ``turn``, the units ``gone`` (or the sale over) before it, or a ``wait``. The page's script
        works out the same from each live message and fetches that part again when it changes."""
        if self.place is None:
            return "before"
        if self.turn:
            return "turn"
        return "gone" if self.sold_out else "wait"

    def shared(self, product_id: int) -> dict[str, Any]:
        """The line's shared state as this member's view read it (what the line hub publishes)."""
        started = self.place is not None
        return shared_state(product_id, started, self.total, self.admitted, self.sold_out, self.closed)


@dataclass(frozen=True)
class LineOffer:
    """The product page's line buttons: join it, or see one's place once joined, and the Buy form
    of a member holding a live admission. ``room``: the product is sold through a waiting room;
    ``sign_in``: its line takes members and the viewer is not signed in."""

    can_join: bool
    joined: bool
    room: bool = False
    admission: Pass | None = None
    sign_in: bool = False


class WaitingRoom:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def product(self, product_id: int) -> Product:
        """A product the shop shows (any other id is "not found")."""
        return await public_product(self.db, product_id)

    def can_join(self, member: Member, product: Product) -> bool:
        """Whether to offer ``member`` the button that joins the product's line."""
        return (
            product.sale_mode is SaleMode.WAITING_ROOM and product.seller_id != member.id and product.status in _SELLING
        )

    async def offer(self, product: Product, viewer: Member | None, now: datetime) -> LineOffer:
        """What the product page offers ``viewer`` about the product's line."""
        room = product.sale_mode is SaleMode.WAITING_ROOM
        if viewer is None:
            return LineOffer(can_join=False, joined=False, room=room, sign_in=room and product.status in _SELLING)
        if not self.can_join(viewer, product):
            return LineOffer(can_join=False, joined=False, room=room)
        joined = await self.place_of(viewer.id, product.id) is not None
        admission = await admissions.pass_of(self.db, self.settings, product.id, viewer.id) if joined else None
        live = admission if admission is not None and admission.live(now) else None
        return LineOffer(can_join=True, joined=joined, room=room, admission=live)

    def opens_at(self, product: Product) -> datetime:
        return line_opens_at(product.sale_starts_at, self.settings.waiting_room_opens_before_minutes)

    async def place_of(self, member_id: int, product_id: int) -> LinePlace | None:
        query = select(LinePlace).where(LinePlace.product_id == product_id, LinePlace.member_id == member_id)
        return (await self.db.execute(query)).scalar_one_or_none()

    def check_join(self, member: Member, product: Product, now: datetime) -> None:
        """Raise the ``DomainError`` that refuses ``member`` a place in the product's line at
        ``now``, if there is one (the page asks for a proof only of a join that could succeed)."""
        if product.sale_mode is not SaleMode.WAITING_ROOM:
            raise DomainError(_("This product is not sold through a waiting room."))
        if product.seller_id == member.id:
            raise DomainError(_("This is your product: sellers cannot join the line for their own products."))
        if product.status not in _SELLING:
            raise DomainError(_("The sale is over: the line is closed."))
        if now < self.opens_at(product):
            raise DomainError(_("The line is not open yet."))

    async def join(self, member: Member, product: Product, now: datetime) -> LinePlace:
        """The member's place in the product's line, taken now unless they have one already: before
        the start only the time they joined, from the start the next place."""
        self.check_join(member, product, now)
        existing = await self.place_of(member.id, product.id)
        if existing is not None:
            return existing
        # Under the product's row lock: the places are written once, and a join either is in the
        # line they were written from or takes the next place after them.
        line = await lock_line(self.db, product.id)
        assert line is not None
        line = await record_places(self.db, line, now)
        row = await self._add(member, product, now)
        touch_after_commit(self.db, "line", product.id)  # one more member in the line
        if line.seed is None:
            await self.db.execute(
                update(Product)
                .where(Product.id == product.id, Product.line_seed.is_(None))
                .values(line_seed=new_seed())
            )
            await self.db.refresh(product, ["line_seed"])
        return row

    async def _add(self, member: Member, product: Product, now: datetime) -> LinePlace:
        """The member's new row (with the next place once the places are written), or theirs from a
        concurrent join that won."""
        try:
            async with self.db.begin_nested():
                row = LinePlace(product_id=product.id, member_id=member.id, joined_at=now)
                row.place = await next_place(self.db, product.id)
                self.db.add(row)
                await self.db.flush()
        except IntegrityError:  # the same member's concurrent join won; its place stands
            existing = await self.place_of(member.id, product.id)
            assert existing is not None
            return existing
        return row

    async def _place(self, member: Member, product: Product) -> int | None:
        query = select(LinePlace.place).where(LinePlace.product_id == product.id, LinePlace.member_id == member.id)
        place: int | None = await self.db.scalar(query)
        return place

    def _due_by(self, line: Line, now: datetime) -> int:
        """The last place the rate has let in by ``now``."""
        return admitted_by(line.starts_at, admissions.rate_of(line, self.settings), now)

    async def standing(self, member: Member, product: Product, now: datetime) -> Standing | None:
        """Where ``member`` stands in the product's line at ``now``, or None when not in it. From
        the start, when the member's own place is due and not let in yet, the places due are
        admitted first (``admissions.issue_due``); otherwise the web process's loop does it."""
        if await self.place_of(member.id, product.id) is None:
            return None
        start = product.sale_starts_at
        if now < start:
            total = await self.db.scalar(select(func.count()).where(LinePlace.product_id == product.id))
            return Standing(place=None, total=int(total or 0), admitted=0, wait=None, starts_at=start)
        line = await read_line(self.db, product.id)
        assert line is not None
        place = await self._place(member, product)
        if line.length is None or (place is not None and line.admitted < place <= self._due_by(line, now)):
            # The member's turn has come and the loop has not let them in yet (or no one has written
            # the places): admit what is due now. Only then is the product's row locked, so the views
            # of a long line do not queue behind each other or hold up the Buy batches.
            await admissions.issue_due(self.db, self.settings, product.id, now)
            line = await read_line(self.db, product.id)
            assert line is not None
            if line.length is None:  # not a waiting room any more: the places were never written
                line = await record_places(self.db, await lock_line(self.db, product.id) or line, now)
                touch_after_commit(self.db, "line", product.id)
            place = await self._place(member, product)
        assert place is not None and line.length is not None
        admission = await admissions.pass_of(self.db, self.settings, product.id, member.id)
        sold_out, closed = await _ended(self.db, line, now)
        rate = admissions.rate_of(line, self.settings)
        wait = estimated_wait(place, line.admitted, rate)
        return Standing(place, line.length, line.admitted, wait, start, admission, sold_out, closed, rate)


async def _ended(db: AsyncSession, line: Line, now: datetime) -> tuple[bool, bool]:
    """Whether the line's units are gone (every one taken and none held for a place let in, or
    the sale over) and whether the sale is over."""
    closed = line.status not in _RUNNING
    sold_out = closed or (line.units_left <= 0 and await admissions.outstanding(db, line.product_id, now) == 0)
    return sold_out, closed


def shared_state(
    product_id: int, started: bool, total: int, admitted: int, sold_out: bool, closed: bool
) -> dict[str, Any]:
    """What every member of a line sees alike: whether the places are drawn (``started``), how
    many members are in it, how many places are let in, whether the units are gone or the sale is
    over. Counts only: never anyone's identity."""
    return {
        "product_id": product_id,
        "started": started,
        "total": total,
        "admitted": admitted,
        "sold_out": sold_out,
        "closed": closed,
    }


async def line_state(db: AsyncSession, product_id: int) -> dict[str, Any] | None:
    """The line hub's state of the product's line, read now (None: no product sold through a
    waiting room). Before the places are written, the members who joined are counted."""
    line = await read_line(db, product_id)
    if line is None or line.sale_mode is not SaleMode.WAITING_ROOM:
        return None
    total = line.length
    if total is None:
        total = int(await db.scalar(select(func.count()).where(LinePlace.product_id == product_id)) or 0)
    sold_out, closed = await _ended(db, line, utcnow())
    return shared_state(product_id, line.length is not None, total, line.admitted, sold_out, closed)
