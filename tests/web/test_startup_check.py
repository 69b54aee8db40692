"""The web app refuses to start when an event handler waits for a topic nobody publishes."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from app.events import handlers as registry
from app.events import topics
from app.events.handlers import UnpublishedTopic, on
from app.events.topics import Topic


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def test_the_app_does_not_start_with_a_handler_on_an_unpublished_topic(app):
    async def never_runs(db, event) -> None:
        return None

    # a topic taken out of the published set for this test, as if its publisher were gone
    topic = Topic.AUCTION_SETTLED
    topics._PUBLISHED.discard(topic)
    on(topic, name="tests.startup.never_runs")(never_runs)
    try:
        with pytest.raises(BaseException) as caught:  # the start-up's error, maybe inside a task group's
            async with AsyncTestClient(app=app):
                pass
        error = _leaf(caught.value)
        assert isinstance(error, UnpublishedTopic)
        assert "'tests.startup.never_runs' waits for 'auction.settled'" in str(error)
    finally:
        topics.publishes(topic)
        registry._HANDLERS[topic] = [h for h in registry._HANDLERS[topic] if h.name != "tests.startup.never_runs"]


async def test_the_app_starts_with_the_real_registry(client):
    assert (await client.get("/healthz")).status_code == 200
