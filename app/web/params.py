"""Short names for the dependencies handlers take most, so a handler's signature reads in one line."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.members import Member

DbSession = NamedDependency[AsyncSession]  # the request's unit of work
SignedIn = NamedDependency[Member]  # the member the page's guard let in
