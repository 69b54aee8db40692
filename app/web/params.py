"""Short names for the dependencies and parameters handlers take most, so a handler's signature
reads in one line."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.members import Member
from app.web.services import Services

AppServices = NamedDependency[Services]  # the app's long-lived services
DbSession = NamedDependency[AsyncSession]  # the request's unit of work
SignedIn = NamedDependency[Member]  # the member the page's guard let in
Query = FromQuery[str | None]  # an optional query parameter as sent (``page``, a filter, a search)
