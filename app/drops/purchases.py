"""The pages' side of buying: a press with the right it leaves the member, the member's purchase
rights, and giving one up. Reads and writes go through the request's session (or, for a press,
the press's own transaction); nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.drops.rules import Outcome, PressResult
from app.drops.service import DropService, Press
from app.drops.stock import release_right
from app.live.hub import touch_after_commit, touch_kind
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.drops import PurchaseRight, RightStatus, StockReason
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
        raise NotFound("This purchase right does not exist.")
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
        return GiveUp(False, f"This right is already {right.status.value}.")
    touch_after_commit(db, "product", right.product_id)  # the gate's copy follows the commit too
    return GiveUp(True, "Cancelled. The unit went back on sale.")
