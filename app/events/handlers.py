"""Registry of event handlers: ``@on(Topic.PRODUCT_CHANGED, name=…)``. Each handler runs at most
once per event id (the inbox, keyed on its name), in its own transaction, and receives a fresh
session and the event.

``on`` takes members of ``Topic`` only, and ``check_subscriptions`` (run when the web app and the
worker start) refuses a handler that waits for a topic no module declares it publishes
(``app.events.topics.publishes``): a misspelt or forgotten topic stops the process at start-up
instead of leaving a handler that never runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.events.topics import Topic, published
from app.models.events import OutboxEvent

Handler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]
Row = TypeVar("Row")
RowHandler = Callable[[AsyncSession, Row], Awaitable[None]]


@dataclass(frozen=True)
class Registered:
    name: str
    fn: Handler


_HANDLERS: dict[str, list[Registered]] = {}
_SHOP_TOPICS = frozenset(topic.value for topic in Topic)


def on(*topics: Topic, name: str | None = None) -> Callable[[Handler], Handler]:
    """Subscribe the decorated handler to ``topics`` (members of ``Topic``)."""
    for topic in topics:
        if not isinstance(topic, Topic):
            raise TypeError(f"on() takes members of Topic, not {topic!r}")
    return _subscribe(topics, name)


def on_row(
    topic: Topic, model: type[Row], *, name: str | None = None, **expected: object
) -> Callable[[RowHandler[Row]], RowHandler[Row]]:
    """Subscribe the decorated handler to the row each ``topic`` event is about (its aggregate,
    read by id), called only while the row is still as ``expected`` says (``status=…``): a row
    gone or moved on meanwhile is left alone."""

    def decorate(fn: RowHandler[Row]) -> RowHandler[Row]:
        async def handler(db: AsyncSession, event: OutboxEvent) -> None:
            row = await db.get(model, event.aggregate_id)
            if row is not None and all(getattr(row, field) is value for field, value in expected.items()):
                await fn(db, row)

        on(topic, name=name or f"{fn.__module__}.{fn.__name__}")(handler)
        return fn

    return decorate


def on_private(*topics: str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Subscribe to topics outside the shop's own (``Topic``), which only their subscriber's own
    code publishes (a test's probe topics); the start-up check does not look at them."""
    for topic in topics:
        if topic in _SHOP_TOPICS:
            raise TypeError(f"{topic!r} is one of the shop's topics: subscribe with on()")
    return _subscribe(topics, name)


def _subscribe(topics: Iterable[str], name: str | None) -> Callable[[Handler], Handler]:
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


class UnpublishedTopic(RuntimeError):
    """A handler waits for a topic that nothing publishes."""


def unpublished_subscriptions(
    handlers: Mapping[str, list[Registered]] | None = None, topics: Iterable[Topic] | None = None
) -> list[tuple[str, Topic]]:
    """(handler name, topic) for every subscription to a shop topic not among ``topics`` (by
    default, every topic declared with ``publishes``)."""
    known = frozenset(published() if topics is None else topics)
    registry = _HANDLERS if handlers is None else handlers
    return sorted(
        (handler.name, topic)
        for topic, bucket in registry.items()
        if isinstance(topic, Topic) and topic not in known
        for handler in bucket
    )


def check_subscriptions(
    handlers: Mapping[str, list[Registered]] | None = None, topics: Iterable[Topic] | None = None
) -> None:
    """Raise ``UnpublishedTopic`` naming each handler subscribed to a topic nobody publishes."""
    if missing := unpublished_subscriptions(handlers, topics):
        listed = "; ".join(f"handler {name!r} waits for {topic.value!r}" for name, topic in missing)
        raise UnpublishedTopic(
            f"{listed}: no module declares it publishes that topic (app.events.topics.publishes)."
            " Fix the handler's topic, or declare the topic beside the code that records it."
        )
