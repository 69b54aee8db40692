"""The moderation audit log: one append-only row per administrative act."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.models.base import Base
from app.models.members import AuditEntry, Member
from app.web.forwarded import CLIENT_ADDRESS


async def record_audit(
    db: AsyncSession, *, actor: Member | None, action: str, target: Base, reason: str | None = None
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=type(target).__tablename__,
        target_id=target.id,  # type: ignore[attr-defined]  # every audited model has an integer id
        reason=reason,
        client_address=CLIENT_ADDRESS.get(),
    )
    db.add(entry)
    await db.flush()
    return entry


async def audit_trail(db: AsyncSession, target_type: str, target_id: int, limit: int = 50) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == target_id)
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars().all())
