"""The pages' side of buying: a press with the right it leaves the member, the member's purchase
rights, and giving one up. Reads and writes go through the request's session (or, for a press,
the press's own transaction); nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.labels import label
from app.drops.draw_making import is_draw_right
from app.drops.rules import LIVE_RIGHTS, Outcome, PressResult
from app.drops.service import DropService, Press
from app.drops.stock import release_right
from app.live.hub import touch_after_commit, touch_kind
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PurchaseRight, RightStatus, StockReason
from app.models.orders import Order
from app.payments.policies import current_policy, give_up_refusal


@dataclass(frozen=True)
class HeldRight:
    """What the result fragment shows of a right the press has just been granted."""

    id: int | None
    expires_at: datetime
    status: RightStatus = RightStatus.HELD


@dataclass(frozen=True)
class Pressed:
    result: PressResult
    right: PurchaseRight | HeldRight | None = None


async def press(drops: DropService, request: Press) -> Pressed:
    """Decide one press (its batch commits on its own) and say which right it leaves the member."""
    result = await drops.press(request)
    if result.outcome is not Outcome.GRANTED:
        return Pressed(result)
    touch_kind("product", request.product_id)  # the press's batch has committed
    if result.expires_at is not None and not result.replayed:
        return Pressed(result, HeldRight(result.right_id, result.expires_at))
    async with drops.database.transaction() as db:  # a replay: the right as it stands now
        return Pressed(result, await db.get(PurchaseRight, result.right_id))


@dataclass(frozen=True)
class BuyBox:
    """What the product page's buy box says to one viewer: the rights they hold on the product
    (waiting for payment, earliest deadline first), whether they reached the per-member limit, and
    whether Buy is offered at all (on sale, units left, not their own product, under the limit)."""

    product_id: int
    held: tuple[PurchaseRight, ...] = ()
    paid: tuple[PurchaseRight, ...] = ()
    own: bool = False
    selling: bool = False  # on sale with units left at the fixed price
    sold_out: bool = False  # every fixed-price unit is taken (some may come back)
    at_limit: bool = False
    paid_order_id: int | None = None  # the order of the first paid right

    @property
    def can_buy(self) -> bool:
        return self.selling and not self.own and not self.at_limit

    @property
    def first_held(self) -> PurchaseRight | None:
        return self.held[0] if self.held else None

    @property
    def limit_link(self) -> str | None:
        """Where "You already hold your limit" links to: paying the right that waits, else the
        order of a paid one."""
        if self.first_held is not None:
            return f"/me/purchases/{self.first_held.id}/pay"
        if self.paid_order_id is not None:
            return f"/orders/{self.paid_order_id}"
        return "/me/purchases" if self.paid else None


async def public_product(db: AsyncSession, product_id: int) -> Product:
    """A product the shop shows; any other id is "not found"."""
    product = await db.get(Product, product_id) if 1 <= product_id <= 2**63 - 1 else None
    if product is None or not lifecycle.is_public(product.status):
        raise NotFound(_("This product does not exist."))
    return product


async def buy_box(db: AsyncSession, product: Product, viewer_id: int | None, now: datetime | None = None) -> BuyBox:
    """The buy box of ``product`` for the viewer (None: not signed in)."""
    now = now or utcnow()
    # a draw's units go to its winners: Buy never sells one
    selling = (
        product.status is ProductStatus.ON_SALE and product.fixed_left > 0 and product.sale_mode is not SaleMode.DRAW
    )
    sold_out = product.status is ProductStatus.CONVERSION_PENDING or (
        product.status is ProductStatus.ON_SALE and product.fixed_left <= 0
    )
    if viewer_id is None:
        return BuyBox(product.id, selling=selling, sold_out=sold_out)
    if viewer_id == product.seller_id:
        return BuyBox(product.id, own=True, selling=selling, sold_out=sold_out)
    stmt = (
        select(PurchaseRight)
        .where(
            PurchaseRight.product_id == product.id,
            PurchaseRight.member_id == viewer_id,
            PurchaseRight.status.in_(LIVE_RIGHTS),
        )
        .order_by(PurchaseRight.expires_at, PurchaseRight.id)
    )
    rights = list((await db.execute(stmt)).scalars())
    held = tuple(r for r in rights if r.status is RightStatus.HELD and r.expires_at > now)
    paid = tuple(r for r in rights if r.status is RightStatus.PAID)
    at_limit = len(rights) >= product.purchase_limit
    order_id = await db.scalar(select(Order.id).where(Order.right_id == paid[0].id)) if paid else None
    return BuyBox(product.id, held, paid, selling=selling, sold_out=sold_out, at_limit=at_limit, paid_order_id=order_id)


async def my_purchases(db: AsyncSession, member_id: int, limit: int = 200) -> list[Any]:
    """The member's rights with their products, newest first."""
    stmt = (
        select(PurchaseRight, Product)
        .join(Product, Product.id == PurchaseRight.product_id)
        .where(PurchaseRight.member_id == member_id)
        .order_by(PurchaseRight.id.desc())
        .limit(limit)
    )
    return list((await db.execute(stmt)).all())


async def member_right(db: AsyncSession, member_id: int, right_id: int) -> PurchaseRight:
    """A member's own purchase right; anyone else's is "not found"."""
    right = await db.get(PurchaseRight, right_id)
    if right is None or right.member_id != member_id:
        raise NotFound(_("This purchase right does not exist."))
    return right


@dataclass(frozen=True)
class GiveUp:
    done: bool
    message: str


async def give_up(db: AsyncSession, member_id: int, right_id: int) -> GiveUp:
    """The member gives a held right up: its unit goes back on sale (the live page follows the
    commit), unless the policy's give-up window has closed."""
    right = await member_right(db, member_id, right_id)
    refusal = give_up_refusal(await current_policy(db), right.expires_at, utcnow())
    if refusal is not None and right.status is RightStatus.HELD:
        return GiveUp(False, refusal)
    released = await release_right(db, right_id, RightStatus.CANCELLED, StockReason.CANCEL, actor_id=member_id)
    if released is None:
        return GiveUp(False, _("This right is already %(state)s.", state=label(right.status, "right").lower()))
    touch_after_commit(db, "product", right.product_id)  # the gate's copy follows the commit too
    if is_draw_right(released):
        return GiveUp(
            True, _("Cancelled. The unit goes to the next entry of the draw, or back to the stock if none is left.")
        )
    return GiveUp(True, _("Cancelled. The unit went back on sale."))
