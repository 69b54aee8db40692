"""A waiting room's line: members join it from the time it opens, and each sees their place, how
many places have been let in and the wait they can expect. The order itself is the pure rule
``line_order``; this service loads the line, applies it, and writes the joins. Flushes, never
commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.sale_mode_rules import line_opens_at
from app.core.errors import DomainError
from app.core.i18n import _
from app.db import add_once
from app.drops.draw_rules import new_seed
from app.drops.line_rules import Joined, admitted_by, estimated_wait, line_order
from app.drops.purchases import public_product
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.lines import LinePlace
from app.models.members import Member
from app.settings import Settings

_SELLING = (ProductStatus.SCHEDULED, ProductStatus.ON_SALE)


@dataclass(frozen=True)
class Standing:
    """Where a member stands in a line at a moment. Before the start ``place`` and ``wait`` are
    None: the order of the early joiners is only drawn at the start."""

    place: int | None
    total: int
    admitted: int
    wait: timedelta | None
    starts_at: datetime

    @property
    def turn(self) -> bool:
        """The member's place has been let in."""
        return self.place is not None and self.place <= self.admitted


@dataclass(frozen=True)
class LineOffer:
    """The product page's line buttons: join it, or see one's place once joined."""

    can_join: bool
    joined: bool


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

    async def offer(self, product: Product, viewer: Member | None) -> LineOffer:
        """What the product page offers ``viewer`` about the product's line."""
        if viewer is None or not self.can_join(viewer, product):
            return LineOffer(can_join=False, joined=False)
        return LineOffer(can_join=True, joined=await self.place_of(viewer.id, product.id) is not None)

    def opens_at(self, product: Product) -> datetime:
        return line_opens_at(product.sale_starts_at, self.settings.waiting_room_opens_before_minutes)

    def rate(self, product: Product) -> int:
        return product.admission_rate_per_minute or self.settings.admission_rate_per_minute

    async def place_of(self, member_id: int, product_id: int) -> LinePlace | None:
        query = select(LinePlace).where(LinePlace.product_id == product_id, LinePlace.member_id == member_id)
        return (await self.db.execute(query)).scalar_one_or_none()

    async def join(self, member: Member, product: Product, now: datetime) -> LinePlace:
        """The member's place in the product's line, taken now unless they have one already."""
        if product.sale_mode is not SaleMode.WAITING_ROOM:
            raise DomainError(_("This product is not sold through a waiting room."))
        if product.seller_id == member.id:
            raise DomainError(_("This is your product: sellers cannot join the line for their own products."))
        if product.status not in _SELLING:
            raise DomainError(_("The sale is over: the line is closed."))
        if now < self.opens_at(product):
            raise DomainError(_("The line is not open yet."))
        existing = await self.place_of(member.id, product.id)
        if existing is not None:
            return existing
        row = LinePlace(product_id=product.id, member_id=member.id, joined_at=now)
        if not await add_once(self.db, row):  # a concurrent join of the same member won
            existing = await self.place_of(member.id, product.id)
            assert existing is not None
            return existing
        await self.db.execute(
            update(Product).where(Product.id == product.id, Product.line_seed.is_(None)).values(line_seed=new_seed())
        )
        await self.db.refresh(product, ["line_seed"])
        return row

    async def standing(self, member: Member, product: Product, now: datetime) -> Standing | None:
        """Where ``member`` stands in the product's line at ``now``, or None when not in it."""
        if await self.place_of(member.id, product.id) is None:
            return None
        query = select(LinePlace.member_id, LinePlace.joined_at).where(LinePlace.product_id == product.id)
        joined = [Joined(member_id, joined_at) for member_id, joined_at in (await self.db.execute(query)).all()]
        start, total = product.sale_starts_at, len(joined)
        if now < start:
            return Standing(place=None, total=total, admitted=0, wait=None, starts_at=start)
        seed = await self.db.scalar(select(Product.line_seed).where(Product.id == product.id))
        order = line_order(seed or "", joined, start)
        place = order.index(member.id) + 1
        rate = self.rate(product)
        admitted = min(admitted_by(start, rate, now), total)
        return Standing(place, total, admitted, estimated_wait(place, admitted, rate), start)
