"""Events a catalogue import sends by the hundred travel in a queue of their own, taken after the
others, so a sale's opening never waits behind an import's backlog (the deep check is
tests/integration/test_search_backlog.py)."""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from app.events.topics import Topic
from tasks.events import BULK_TOPICS, enqueue_event, handle_bulk_event, handle_event


@pytest.fixture
def broker():
    previous = dramatiq.get_broker()
    stub = StubBroker()
    stub.emit_after("process_boot")
    actors = (handle_event, handle_bulk_event)
    bound = [a.broker for a in actors]
    for a in actors:
        a.broker = stub
        stub.declare_actor(a)
    try:
        yield stub
    finally:
        for a, b in zip(actors, bound, strict=True):
            a.broker = b
        dramatiq.set_broker(previous)


def queued(broker: StubBroker) -> dict[str, list[str]]:
    """The event ids waiting in each queue that holds any."""
    return {
        name: [dramatiq.Message.decode(data).args[0] for data in list(queue.queue)]
        for name, queue in broker.queues.items()
        if queue.qsize()
    }


def test_an_imports_events_go_to_their_own_queue_and_the_others_to_the_events_queue(broker):
    enqueue_event("e1", Topic.PRODUCT_CHANGED.value)
    enqueue_event("e2", Topic.PRODUCT_STATUS_CHANGED.value)
    enqueue_event("e3", Topic.ORDER_CREATED.value)
    assert queued(broker) == {"bulk_events": ["e1"], "events": ["e2", "e3"]}


def test_the_bulk_lane_is_taken_after_the_others():
    assert BULK_TOPICS == {Topic.PRODUCT_CHANGED.value}
    assert handle_bulk_event.priority > handle_event.priority
