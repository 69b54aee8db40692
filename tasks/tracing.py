"""The trace context in Dramatiq messages.

``TraceMessages`` is a broker middleware. When a message is enqueued it records a producer span as
a child of the current context (a request whose commit scheduled an expiry, the relay sending an
outbox event inside the event's stored context, a handler scheduling the next job) and puts that
span's W3C context into the message's options; a message sent again by Retries keeps the context
it had. When a worker takes the message it runs the actor inside a consumer span whose parent is
that context, current on the worker thread for the whole message, so the actor's coroutine (which
Dramatiq's AsyncIO middleware starts with the worker thread's context) and its SQL spans belong to
the same trace. Messages with no context (the periodic sweeps) start traces of their own.

Hand-written: OpenTelemetry's Python contrib has no Dramatiq instrumentation."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq import MessageProxy
from dramatiq.middleware import Middleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from app.observability.tracing import W3C, current_trace_context

# The message option that carries the W3C headers (``traceparent``, ``tracestate``).
TRACE_OPTION = "trace_context"


def _attributes(message: dramatiq.Message[Any] | MessageProxy) -> dict[str, Any]:
    return {
        "messaging.system": "dramatiq",
        "messaging.destination.name": message.queue_name,
        "messaging.message.id": message.message_id,
        "messaging.dramatiq.actor": message.actor_name,
    }


class TraceMessages(Middleware):
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._running: dict[str, tuple[trace.Span, object]] = {}  # message id → its span and context token
        self._lock = threading.Lock()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        if TRACE_OPTION in message.options:  # a retry: it stays in the trace it began in
            return
        attributes = _attributes(message) | ({"messaging.dramatiq.delay_ms": delay} if delay else {})
        with self.tracer.start_as_current_span(
            f"send {message.actor_name}", kind=SpanKind.PRODUCER, attributes=attributes
        ):
            carrier = current_trace_context()
        if carrier:
            message.options[TRACE_OPTION] = carrier

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        parent = W3C.extract(message.options.get(TRACE_OPTION) or {})
        span = self.tracer.start_span(
            message.actor_name, context=parent, kind=SpanKind.CONSUMER, attributes=_attributes(message)
        )
        retries = message.options.get("retries")
        if retries:
            span.set_attribute("messaging.dramatiq.retries", retries)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        with self._lock:
            self._running[message.message_id] = (span, token)

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        with self._lock:
            running = self._running.pop(message.message_id, None)
        if running is None:
            return
        span, token = running
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]  # the token attach gave

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)
