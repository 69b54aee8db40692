"""The web process with Dramatiq wired in: ``uvicorn tasks.web:create_app --factory`` (see the
Procfile). The composition root of the web app: it binds the actors to the broker (Redis, or an
in-memory one drained by a worker thread inside the process), gives the app the Dramatiq scheduler
and the periodic sweeps, and hands them to ``app.asgi.create_app``, which knows none of them."""

from __future__ import annotations

from app.observability.multiproc import prepare_metrics_directory

prepare_metrics_directory("web")  # before prometheus_client is first imported (by the app, below)

from collections.abc import Callable

from litestar import Litestar

from app.asgi import create_app as build_app
from app.core.collector import tune_for_serving
from app.core.scheduling import Jobs
from app.observability.tracing import WEB_SERVICE, with_tracing
from app.settings import Settings
from tasks.auctions import sweep_auctions
from tasks.broker import configure_broker
from tasks.catalog import sweep_scheduled_sales
from tasks.drops import reconcile_gate, sweep_draws, sweep_expired_rights
from tasks.events import prune_handled_events
from tasks.mail import sweep_mail
from tasks.payments import reconcile_payments, sweep_payments
from tasks.popularity import recompute_popularity
from tasks.runtime import dispose_database, init_runtime
from tasks.scheduler import DramatiqScheduler


def sweeps() -> list[Callable[[], object]]:
    """The periodic safety sweeps a web process's background loop sends (one process per interval)."""
    return [
        sweep_scheduled_sales.send,
        recompute_popularity.send,
        sweep_expired_rights.send,
        sweep_draws.send,
        reconcile_gate.send,
        sweep_payments.send,
        reconcile_payments.send,
        sweep_auctions.send,
        prune_handled_events.send,
        sweep_mail.send,
    ]


def create_app(settings: Settings | None = None) -> Litestar:
    # One tracer provider for the process (the in-process worker's spans are the web's too).
    settings = with_tracing(settings or Settings.from_env(), WEB_SERVICE)
    broker = configure_broker(settings)
    scheduler = DramatiqScheduler()
    init_runtime(settings, scheduler)
    broker.on_stop(dispose_database)  # the in-process worker's engine, on its own loop
    app = build_app(settings, Jobs(scheduler=scheduler, queue=broker, sweeps=sweeps()))
    tune_for_serving()  # what the process holds from now on is never walked by the collector again
    return app
