"""The money rules in force: the newest policy row (the shop always has one)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import ngettext
from app.models.payments import Policy
from app.payments.rules import DEFAULT_FEE_BASIS_POINTS, DEFAULT_REFUND_TIERS


async def current_policy(db: AsyncSession) -> Policy:
    policy = (await db.execute(select(Policy).order_by(Policy.id.desc()).limit(1))).scalar_one_or_none()
    if policy is None:  # a database emptied by hand: put the default back in force
        policy = Policy(
            fee_basis_points=DEFAULT_FEE_BASIS_POINTS,
            refund_tiers=[list(t) for t in DEFAULT_REFUND_TIERS],
            cancel_until_minutes_before=0,
            note="Default policy",
        )
        db.add(policy)
        await db.flush()
    return policy


async def set_policy(
    db: AsyncSession,
    *,
    fee_basis_points: int,
    refund_tiers: list[list[int]],
    cancel_until_minutes_before: int = 0,
    note: str | None,
    actor_id: int,
) -> Policy:
    """A new version; payments made before keep the copy they took."""
    policy = Policy(
        fee_basis_points=fee_basis_points,
        refund_tiers=refund_tiers,
        cancel_until_minutes_before=cancel_until_minutes_before,
        note=note,
        created_by_id=actor_id,
    )
    db.add(policy)
    await db.flush()
    return policy


async def history(db: AsyncSession, limit: int = 20) -> list[Policy]:
    return list((await db.execute(select(Policy).order_by(Policy.id.desc()).limit(limit))).scalars())


def give_up_refusal(policy: Policy, expires_at: datetime, now: datetime) -> str | None:
    """The cancellation rule: an unpaid right may be given up until so many minutes before its
    payment deadline (after that it simply runs out). None when giving up is allowed."""
    minutes = policy.cancel_until_minutes_before
    if minutes and now > expires_at - timedelta(minutes=minutes):
        return ngettext(
            "A purchase right can be given up until %(num)d minute before its payment deadline.",
            "A purchase right can be given up until %(num)d minutes before its payment deadline.",
            minutes,
        )
    return None
