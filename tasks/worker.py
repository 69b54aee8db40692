"""Worker entry point: ``dramatiq tasks.worker`` (see the Procfile). The worker's composition
root: the broker, the Dramatiq scheduler its units of work defer work through, the live hubs it
publishes to (Redis), its logging, and the check that every event handler's topic is published."""

import asyncio

from app.observability.multiproc import prepare_metrics_directory

prepare_metrics_directory("worker")  # before prometheus_client is first imported (by the actors, below)

from app.events.handlers import check_subscriptions
from app.live.hub import RedisPublisher, close_hubs, set_hubs, worker_hubs
from app.observability.logs import configure_logging
from app.observability.metrics import set_enabled
from app.observability.tracing import WORKER_SERVICE, with_tracing
from app.observability.tracing import flush as flush_traces
from app.settings import Settings
from tasks import runtime
from tasks.broker import configure_broker
from tasks.metrics import serve_worker_metrics
from tasks.runtime import init_runtime
from tasks.scheduler import DramatiqScheduler
from tasks.shutdown import absorb_repeated_sigterm

settings = with_tracing(Settings.from_env(), WORKER_SERVICE)  # the process's tracer provider, if any
configure_logging(settings)  # this process's lines, Dramatiq's own too, in LOG_FORMAT
settings.require_gateway()
set_enabled(settings.metrics)
handle = configure_broker(settings)  # imports every actor and every event handler
check_subscriptions()
init_runtime(settings, DramatiqScheduler())
if settings.redis_url:
    publisher = RedisPublisher(settings.redis_url)
    hubs = worker_hubs(settings.redis_url, runtime.database, publisher)
    set_hubs(hubs)
    # on stop, on the actors' loop: publish what the hubs hold, then close their client
    handle.on_stop(lambda: close_hubs(hubs.values()), publisher.aclose)
handle.on_stop(runtime.dispose_database)
handle.on_stop(lambda: asyncio.to_thread(flush_traces, settings, 1.0))  # the spans still in the exporter's batch
absorb_repeated_sigterm()
metrics_server = serve_worker_metrics(settings)  # the first worker process to bind serves them all
broker = handle.broker
