"""Traces: OpenTelemetry spans for each request (Litestar's plugin), its SQL (SQLAlchemy), its Redis
commands and the gateway's HTTP calls, and for each queued job; the W3C trace context travels with
the work (the outbox row, the Dramatiq message), so one trace follows a Buy press into the worker.

Nothing is configured globally. Whoever builds a process (``tasks.web``, ``tasks.worker``) asks
``with_tracing`` once: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``) set it builds
an SDK tracer provider that exports over OTLP/HTTP (the exporter reads the other ``OTEL_EXPORTER_OTLP_*``
variables, the provider ``OTEL_TRACES_SAMPLER``, the resource ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``), and the provider travels in ``Settings.tracer_provider`` to every part
that makes spans. Tests give a provider of their own (an in-memory exporter), as many as they build
apps. Without an endpoint there is no provider: every tracer is the OpenTelemetry API's no-op, the
database, Redis and HTTP clients are not instrumented at all, and a small middleware only carries
a context that came in with the request (an upstream proxy's ``traceparent``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.settings import Settings

WEB_SERVICE = "smore-web"
WORKER_SERVICE = "smore-worker"
TRACER_NAME = "smore"
# The W3C trace context (``traceparent`` and ``tracestate``): what an outbox row and a queue message carry.
W3C = TraceContextTextMapPropagator()
# Requests not worth a trace: files.
UNTRACED_PATHS = ["^/static/", "^/uploads/", "^/favicon"]
# Metrics are Prometheus's (app.observability.metrics): the instrumentations record none.
_NO_METERS = NoOpMeterProvider()

TraceContext = dict[str, str]


def tracing_wanted(settings: Settings) -> bool:
    """An OTLP endpoint is set and the SDK is not disabled."""
    endpoint = settings.otel_exporter_otlp_endpoint or settings.otel_exporter_otlp_traces_endpoint
    return bool(endpoint) and not settings.otel_sdk_disabled


def with_tracing(settings: Settings, service_name: str) -> Settings:
    """``settings`` with the process's tracer provider: the one they carry (a test's), else an SDK
    provider exporting over OTLP when ``tracing_wanted``, else none (tracing off)."""
    if settings.tracer_provider is not None or not tracing_wanted(settings):
        return settings
    return settings.with_changes(tracer_provider=otlp_provider(settings.otel_service_name or None, service_name))


def otlp_provider(service_name: str | None, default_service: str) -> TracerProvider:
    """An SDK provider whose spans leave in batches over OTLP/HTTP (flushed at exit too)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service}))
    provider = SdkTracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(meter_provider=_NO_METERS)))
    return provider


def tracer_for(settings: Settings) -> Tracer:
    """The shop's tracer in this process (the API's no-op one when tracing is off)."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=settings.tracer_provider)


def flush(settings: Settings, timeout_seconds: float = 2.0) -> None:
    """Send the spans still waiting in the provider's batch (at a process's stop)."""
    force_flush = getattr(settings.tracer_provider, "force_flush", None)
    if force_flush is not None:
        force_flush(int(timeout_seconds * 1000))


# ---------------------------------------------------------------------------- the context carried


def current_trace_context(ctx: Context | None = None) -> TraceContext:
    """The W3C headers of the current (or given) context: empty when there is no trace."""
    carrier: TraceContext = {}
    W3C.inject(carrier, context=ctx)
    return carrier


@contextlib.contextmanager
def continuing(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Run the block inside the trace whose W3C headers ``carrier`` holds (none: as it is)."""
    if not carrier:
        yield
        return
    token = otel_context.attach(W3C.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


# ---------------------------------------------------------------------------- instrumentation


_W3C_HEADERS = (b"traceparent", b"tracestate")


class UpstreamTrace:
    """Tracing off: a request that came with a ``traceparent`` (an upstream proxy's) runs in that
    trace, so the work it queues carries it on; any other request passes untouched. Written by hand
    instead of keeping Litestar's OpenTelemetry middleware for this: with no provider that
    middleware still builds a non-recording span, its attributes and a wrapped ``send`` for every
    request, about a fifth of a Buy press's time in the web process."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope.get("headers", ())
            if key in _W3C_HEADERS
        }
        with continuing(carrier):
            await self.app(scope, receive, send)


def request_tracing(settings: Settings) -> tuple[list[Any], list[OpenTelemetryPlugin]]:
    """The app's tracing: (middleware, plugins). With a provider, Litestar's plugin (a span per
    request) and the span's naming by route; without, only ``UpstreamTrace``."""
    if settings.tracer_provider is None:
        return [UpstreamTrace], []
    return [RouteSpanName], [telemetry_plugin(settings)]


def telemetry_plugin(settings: Settings) -> OpenTelemetryPlugin:
    """Litestar's OpenTelemetry plugin: a server span per request (named by its route, see
    ``RouteSpanName``), continuing an incoming ``traceparent``; none for static files."""
    return OpenTelemetryPlugin(
        OpenTelemetryConfig(
            tracer_provider=settings.tracer_provider,
            meter_provider=_NO_METERS,
            exclude=UNTRACED_PATHS,
            exclude_spans=["receive", "send"],
            scope_span_details_extractor=_span_details,
        )
    )


def _span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """A request's span is first named by its method alone (the path has ids in it); the route
    template replaces it once the route is known."""
    return str(scope.get("method", scope["type"])), {}


class RouteSpanName:
    """Names the request's span ``GET /products/{product_id:int}`` and sets ``http.route``, once
    Litestar has matched the route (app middleware runs after routing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        template = scope.get("path_template")
        if template and span.is_recording():
            method = scope.get("method")
            span.update_name(f"{method} {template}" if method else template)
            span.set_attribute("http.route", template)
        await self.app(scope, receive, send)


def instrument_engine(engine: AsyncEngine, settings: Settings) -> None:
    """A span per SQL statement of ``engine`` (its sync engine), when tracing is on."""
    if settings.tracer_provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__, settings.tracer_provider)
    usage = _NO_METERS.get_meter("smore").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]  # unannotated


def instrument_redis(client: Any, settings: Settings) -> Any:
    """``client`` (a redis-py client, sync or async) with a span per command, when tracing is on."""
    if settings.tracer_provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor.instrument_client(client, tracer_provider=settings.tracer_provider)
    return client


def traced_transport(transport: httpx.AsyncBaseTransport | None, settings: Settings) -> httpx.AsyncBaseTransport | None:
    """An httpx transport that makes a span per request and sends the trace on (``traceparent``),
    around ``transport`` (None: httpx's own), when tracing is on. A wrapper, not httpx's
    ``instrument_client``, which patches the transport object itself: a transport shared by several
    clients would be patched again by each."""
    if settings.tracer_provider is None:
        return transport
    import httpx
    from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

    return AsyncOpenTelemetryTransport(
        transport or httpx.AsyncHTTPTransport(), tracer_provider=settings.tracer_provider, meter_provider=_NO_METERS
    )
