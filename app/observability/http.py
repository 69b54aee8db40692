"""HTTP metrics and the ``/metrics`` endpoint, through Litestar's Prometheus plugin.

Requests are counted by route template (``group_path``: ``/products/{product_id}``, never the
id), method and status, with a duration histogram, except for server-sent event streams, whose
duration is the life of the stream: they are counted and shown in progress, not timed.

``/metrics`` answers a signed-in admin, or ``Authorization: Bearer <METRICS_TOKEN>`` (compared in
constant time); anyone else gets the 404 page, as if there were no such address."""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.response import ServerSentEvent
from litestar.types import Receive, Scope, Send

from app.accounts.identity import current_member
from app.models.members import MemberRole

# Seconds, from a page answered from memory to one that waited for the database at a peak.
DURATION_BUCKETS: list[str | float] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
_streaming: ContextVar[bool] = ContextVar("smore_streaming", default=False)


def returns_stream(handler: Any) -> bool:
    """Whether a route handler answers with a server-sent event stream (or says so:
    ``opt={"live_stream": True}``, an ASGI stream of ``app.live.fanout``)."""
    if getattr(handler, "opt", {}).get("live_stream"):
        return True
    signature = getattr(handler, "parsed_fn_signature", None)
    annotation = getattr(getattr(signature, "return_type", None), "annotation", None)
    return isinstance(annotation, type) and issubclass(annotation, ServerSentEvent)


class _Untimed:
    """A histogram that observes nothing (a stream's duration is not a request's)."""

    def labels(self, *_values: object) -> _Untimed:
        return self

    def observe(self, *_args: object, **_kwargs: object) -> None:
        return None


class RequestMetrics(PrometheusMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _streaming.set(returns_stream(scope.get("route_handler")))
        try:
            await super().__call__(scope, receive, send)
        finally:
            _streaming.reset(token)

    def request_time(self, labels: dict[str, str | int | float]) -> Any:
        return _Untimed() if _streaming.get() else super().request_time(labels)


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="smore",
        prefix="smore",
        group_path=True,
        buckets=DURATION_BUCKETS,
        middleware_class=RequestMetrics,
    )


def bearer_matches(header: str | None, token: str | None) -> bool:
    """``Authorization: Bearer <token>`` with the configured token (never when none is set)."""
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics_reader(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """A scraper with the token, or a signed-in admin; for anyone else there is no such page."""
    if bearer_matches(connection.headers.get("authorization"), connection.app.state.settings.metrics_token):
        return
    member = await current_member(connection)
    if member is None or member.role is not MemberRole.ADMIN:
        raise NotFoundException()


class MetricsController(PrometheusController):
    """Every process's metrics added up (multiprocess mode), in Prometheus's text format."""

    path = "/metrics"
    guards = [metrics_reader]
    opt = {"loads_member": False}  # the guard loads the member only when there is no token
    include_in_schema = False
