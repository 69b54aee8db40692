"""A worker's lines carry the message they belong to: its id and actor, and for an event delivery
the event's id and topic, also from inside the actor's coroutine on the event loop's thread; the
next message starts with its own and nothing of the last."""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from tasks.log_context import MessageLogContext
from tasks.shutdown import EventLoop
from tests.helpers.logs import captured_log


def test_the_shop_broker_binds_each_message_first_of_all(app):
    assert isinstance(app.state.broker.broker.middleware[0], MessageLogContext)


def test_an_event_delivery_and_the_next_message_carry_their_own_ids(settings):
    broker = StubBroker()
    broker.emit_after("process_boot")
    broker.add_middleware(MessageLogContext(("deliver",)), before=type(broker.middleware[0]))
    broker.add_middleware(EventLoop())
    probe = logging.getLogger("app.probe")

    @dramatiq.actor(broker=broker, actor_name="deliver", queue_name="probe")
    async def deliver(event_id: str, topic: str) -> None:
        probe.info("handling %s", topic)

    @dramatiq.actor(broker=broker, actor_name="sweep", queue_name="probe")
    async def sweep() -> None:
        probe.info("sweeping")

    worker = dramatiq.Worker(broker, worker_threads=1)
    with captured_log(settings, "INFO") as log:
        worker.start()
        try:
            delivered = deliver.send("ev-123", "order.paid")
            broker.join("probe")
            swept = sweep.send()
            broker.join("probe")
            worker.join()
        finally:
            worker.stop()
    handling, sweeping = [line for line in log.lines() if line["logger"] == "app.probe"]
    assert handling["event"] == "handling order.paid"
    assert handling["message_id"] == delivered.message_id and handling["actor"] == "deliver"
    assert handling["event_id"] == "ev-123" and handling["topic"] == "order.paid"
    assert sweeping["message_id"] == swept.message_id and sweeping["actor"] == "sweep"
    assert "event_id" not in sweeping and "topic" not in sweeping
