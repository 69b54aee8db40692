"""Spans the app made, caught by an in-memory exporter: the tracer provider a test gives the app's
settings, and ways to find the spans of a request, a queued job, an event handler or a statement."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


@dataclass
class Traced:
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    provider: TracerProvider = field(default_factory=TracerProvider)

    def __post_init__(self) -> None:
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def where(self, test: Callable[[ReadableSpan], bool]) -> list[ReadableSpan]:
        return [span for span in self.spans() if test(span)]

    def request(self, method: str, route_end: str) -> ReadableSpan:
        """The one server span of a request whose route template ends with ``route_end``."""
        [span] = self.where(
            lambda s: (
                s.kind is SpanKind.SERVER
                and s.name.startswith(f"{method} ")
                and str(s.attributes.get("http.route", "")).endswith(route_end)
            )
        )
        return span

    def job(self, actor: str) -> list[ReadableSpan]:
        """The worker's spans of the messages of ``actor``."""
        return self.where(lambda s: s.kind is SpanKind.CONSUMER and s.name == actor)

    def handler(self, name: str) -> list[ReadableSpan]:
        """The spans of an event handler's runs (``orders.create_from_right``)."""
        return self.where(lambda s: s.attributes.get("smore.event.handler") == name)

    def statements(self, starting: str = "") -> list[ReadableSpan]:
        """SQL statement spans whose text starts with ``starting``."""
        return self.where(lambda s: statement(s) is not None and str(statement(s)).startswith(starting))

    def by_id(self, span_id: int) -> ReadableSpan:
        [span] = self.where(lambda s: s.context.span_id == span_id)
        return span

    def ancestors(self, span: ReadableSpan) -> Iterable[ReadableSpan]:
        while span.parent is not None:
            found = self.where(lambda s, parent=span.parent: s.context.span_id == parent.span_id)
            if not found:
                return
            span = found[0]
            yield span


def statement(span: ReadableSpan) -> object:
    return span.attributes.get("db.statement", span.attributes.get("db.query.text"))


def trace_id_of(traceparent: str) -> int:
    """The trace id of a W3C ``traceparent`` header (``00-<trace id>-<span id>-<flags>``)."""
    return int(traceparent.split("-")[1], 16)
