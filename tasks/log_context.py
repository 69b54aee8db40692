"""Each message's log lines carry its id, its actor and, for an event delivery, the event's id and
topic (``app.observability.logs.bind_message``). The worker thread binds them before the actor
runs; the actor's coroutine, submitted to the event loop from that thread, starts with a copy of
its context, so its lines carry them too."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq import MessageProxy
from dramatiq.middleware import Middleware

from app.observability.logs import bind_message, end_message


class MessageLogContext(Middleware):
    def __init__(self, event_actors: tuple[str, ...]) -> None:
        self.event_actors = frozenset(event_actors)

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        args = message.args
        if message.actor_name in self.event_actors and len(args) >= 2:
            bind_message(message.message_id, message.actor_name, event_id=str(args[0]), topic=str(args[1]))
        else:
            bind_message(message.message_id, message.actor_name)

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        end_message()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        end_message()
