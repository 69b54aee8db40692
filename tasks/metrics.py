"""The queue's metrics and the worker process's metrics endpoint.

``QueueMetrics`` counts, per queue and actor, the messages processed, those that failed and those
sent again, the messages in progress and how long each took (``smore_queue_*``), wherever the
broker is: a worker process, or a web process with its in-process worker. It is written here
rather than taken from ``dramatiq.middleware.prometheus`` because that one times in milliseconds
(``promtool check metrics`` asks for seconds), points ``PROMETHEUS_MULTIPROC_DIR`` at a directory
of its own (``/tmp`` by default, shared by every worker on the machine), serves it from a separate
process, and clears the whole process's live gauges whenever a worker stops.

A worker process serves the files of its metrics directory (``app.observability.multiproc``): the
queue's and the domain metrics its handlers record, on ``WORKER_METRICS_HOST:WORKER_METRICS_PORT``
(127.0.0.1:9191; 0: not served). With several worker processes the first to bind the port serves
them all (they share the directory); with ``METRICS_TOKEN`` set it asks for
``Authorization: Bearer <token>`` like ``/metrics``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, cast
from wsgiref.simple_server import WSGIServer, make_server

import dramatiq
from dramatiq import MessageProxy
from dramatiq.middleware import Middleware

from app.observability import metrics
from app.observability.http import bearer_matches
from app.settings import Settings

log = logging.getLogger(__name__)


class QueueMetrics(Middleware):
    def __init__(self) -> None:
        self.started: dict[str, float] = {}  # message id → when its actor began

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int) -> None:
        if "retries" in message.options and metrics.enabled():
            metrics.QUEUE_RETRIES.labels(message.queue_name, message.actor_name).inc()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if metrics.enabled():
            metrics.QUEUE_IN_PROGRESS.labels(message.queue_name, message.actor_name).inc()
            self.started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self.started.pop(message.message_id, None)
        if started is None:  # not seen starting (recording was off)
            return
        labels = (message.queue_name, message.actor_name)
        metrics.QUEUE_IN_PROGRESS.labels(*labels).dec()
        metrics.QUEUE_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        metrics.QUEUE_MESSAGES.labels(*labels).inc()
        if exception is not None:
            metrics.QUEUE_FAILURES.labels(*labels).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


def metrics_app(token: str | None) -> Callable[..., Iterable[bytes]]:
    """A WSGI app: every process's metrics in the directory, in Prometheus's text format."""
    from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    exposition = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if token and not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found\n"]
        return cast(Iterable[bytes], exposition(environ, start_response))

    return app


def serve_worker_metrics(settings: Settings) -> WSGIServer | None:
    """Serve the worker's metrics in a daemon thread; None when off, or when another process of
    this worker already serves them on the port."""
    if not settings.metrics or not settings.worker_metrics_port:
        return None
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

    address = (settings.worker_metrics_host, settings.worker_metrics_port)
    try:
        server = make_server(*address, metrics_app(settings.metrics_token), ThreadingWSGIServer, _SilentHandler)
    except OSError as exc:
        log.info("worker metrics not served by this process (%s:%d: %s)", *address, exc)
        return None
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    log.info("worker metrics on http://%s:%d/metrics", *address)
    return server
