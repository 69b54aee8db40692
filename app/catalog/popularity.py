"""Popular-now ranking (placeholder until the ranking lands)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


async def recompute_popularity(db: AsyncSession) -> int:
    """Recompute ``products.popularity``; returns how many products changed."""
    return 0
