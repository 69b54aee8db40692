"""Registry of event handlers: ``@on("product.changed")``. Each handler runs at most once per
event id (the inbox), in its own transaction, and receives a fresh session and the event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.events import OutboxEvent

Handler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]


@dataclass(frozen=True)
class Registered:
    name: str
    fn: Handler


_HANDLERS: dict[str, list[Registered]] = {}


def on(*topics: str, name: str | None = None) -> Callable[[Handler], Handler]:
    def decorate(fn: Handler) -> Handler:
        handler_name = name or f"{fn.__module__}.{fn.__name__}"
        for topic in topics:
            bucket = _HANDLERS.setdefault(topic, [])
            if all(h.name != handler_name for h in bucket):
                bucket.append(Registered(handler_name, fn))
        return fn

    return decorate


def handlers_for(topic: str) -> list[Registered]:
    return list(_HANDLERS.get(topic, []))
