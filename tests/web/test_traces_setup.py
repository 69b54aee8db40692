"""Whether the shop traces: off without ``OTEL_EXPORTER_OTLP_ENDPOINT`` (no SDK, the API's no-op,
nothing instrumented, the global provider untouched), on with it (spans leave over OTLP/HTTP,
named by ``OTEL_SERVICE_NAME`` or ``smore-web`` / ``smore-worker``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import select

from app.events.topics import Topic
from app.models.events import OutboxEvent
from app.observability.tracing import WEB_SERVICE, WORKER_SERVICE, with_tracing
from app.settings import Settings
from tasks.web import create_app
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.traces import trace_id_of
from tests.helpers.web import HTMX, post_form, signed_in

UPSTREAM = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on a local port: what the exporter posts to ``/v1/traces``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, ExportTraceServiceRequest]] = []
        collector = self

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.received.append((self.path, ExportTraceServiceRequest.FromString(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Receive)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[tuple[str, str]]:
        """(service name, span name) of every span received."""
        found = []
        for _path, request in self.received:
            for resource_spans in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    found += [(attrs.get("service.name", ""), span.name) for span in scope.spans]
        return found


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def from_env(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"SMORE_VAR_DIR": str(tmp_path), **env})


def service_of(settings: Settings) -> str:
    return settings.tracer_provider.resource.attributes["service.name"]


def test_without_an_endpoint_there_is_no_tracer_provider(tmp_path):
    assert with_tracing(from_env(tmp_path), WEB_SERVICE).tracer_provider is None
    disabled = from_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_SDK_DISABLED="true")
    assert with_tracing(disabled, WEB_SERVICE).tracer_provider is None


def test_with_an_endpoint_each_process_is_named_its_service(tmp_path):
    settings = from_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    web, worker = with_tracing(settings, WEB_SERVICE), with_tracing(settings, WORKER_SERVICE)
    named = with_tracing(settings.with_changes(otel_service_name="smore-eu-web"), WEB_SERVICE)
    try:
        assert (service_of(web), service_of(worker), service_of(named)) == ("smore-web", "smore-worker", "smore-eu-web")
        assert with_tracing(web, WORKER_SERVICE) is web  # a process's provider is built once
    finally:
        for provider in (web, worker, named):
            provider.tracer_provider.shutdown()


async def test_a_shop_without_an_endpoint_configures_no_sdk(client, app, members, products):
    assert app.state.settings.tracer_provider is None
    product = await on_sale(app, members, products, fixed=3)
    await signed_in(client, members)
    assert (await post_form(client, f"/products/{product.id}/buy", {"key": key()}, headers=HTMX)).status_code == 200
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # nothing set globally
    with app.state.database.tracer.start_as_current_span("any") as span:
        assert not span.is_recording()
    async with app.state.database.transaction() as db:
        [granted] = (await db.execute(select(OutboxEvent).where(OutboxEvent.topic == Topic.RIGHT_GRANTED))).scalars()
    assert granted.trace_context is None


async def test_tracing_off_still_carries_an_upstream_trace_into_the_event(client, app, members, products):
    product = await on_sale(app, members, products, fixed=3)
    await signed_in(client, members)
    headers = HTMX | {"traceparent": UPSTREAM}
    assert (await post_form(client, f"/products/{product.id}/buy", {"key": key()}, headers=headers)).status_code == 200
    async with app.state.database.transaction() as db:
        [granted] = (await db.execute(select(OutboxEvent).where(OutboxEvent.topic == Topic.RIGHT_GRANTED))).scalars()
    assert trace_id_of(granted.trace_context["traceparent"]) == trace_id_of(UPSTREAM)


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_with_an_endpoint_the_spans_leave_over_otlp(settings, collector, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)  # the exporter reads its own variables
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    app = create_app(settings.with_changes(otel_exporter_otlp_endpoint=collector.url))
    provider = app.state.settings.tracer_provider
    try:
        async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
            assert (await client.get("/login")).status_code == 200
        # the app's shutdown flushed the batch
        assert {path for path, _request in collector.received} == {"/v1/traces"}
        assert ("smore-web", "GET /login") in collector.spans()
    finally:
        provider.shutdown()
