"""``create_app(settings, jobs)``: the only place that wires the parts of the web app together.

The queue is not among them: the app defines how it defers work (``app.core.scheduling``) and is
given an implementation (``jobs``) by whoever builds the process (``tasks.web.create_app`` for
Dramatiq), so nothing here imports ``tasks``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.registry import StoreRegistry

import app.events.subscribers  # noqa: F401  (registers every event handler, for the start-up check)
from app.accounts.confirm_pages import EmailConfirmController
from app.accounts.controllers import AuthController, MeController, goodbye
from app.accounts.identity import current_member
from app.accounts.limits import RATE_LIMIT_STORES, client_address_middleware, login_throttle
from app.accounts.passwords import PasswordHasher
from app.accounts.reset_pages import PasswordResetController
from app.admin.controllers import AdminController
from app.admin.events import AdminEventController
from app.admin.members import AdminMemberController
from app.admin.ops_heartbeats import HeartbeatPublisher, this_process
from app.admin.ops_pages import AdminOpsController
from app.admin.products import AdminProductController
from app.auctions.controllers import (
    AuctionController,
    MyBidsController,
    ProductAuctionController,
    SellerAuctionController,
)
from app.background import BackgroundJobs
from app.catalog.controllers import AdminCategoryController, CategoryController, ProductController
from app.catalog.picture_pages import picture
from app.catalog.pictures import pictures_for
from app.catalog.popularity import ViewCounter
from app.core.scheduling import Jobs
from app.core.shared_secret import with_shared_secret
from app.db import Database, TransactionMiddleware, provide_db_session
from app.drops.controllers import DropController, MyPurchasesController
from app.drops.draw_pages import DrawController
from app.drops.fairness_pages import AdminFairnessController, SellerFairnessController
from app.drops.gate import gate_for
from app.drops.ledger_pages import AdminStockLedgerController, SellerStockLedgerController
from app.drops.line_controllers import LineController
from app.drops.reconcile import reconcile_all
from app.events.handlers import check_subscriptions
from app.events.outbox import return_to_outbox
from app.gateway.sandbox import SandboxGateway, sandbox_gateway, sandbox_gateway_router
from app.health import healthz
from app.live.fanout import StreamHandoff
from app.live.hub import channel_prefix, close_hubs, set_hubs
from app.live.hubs import build_hubs
from app.live.streams import LiveStreams
from app.mail.controllers import DevMailController
from app.notifications.controllers import NotificationController
from app.observability.http import MetricsController, prometheus_config
from app.observability.logs import RequestLog, configure_logging
from app.observability.metrics import set_enabled
from app.observability.tracing import WEB_SERVICE, instrument_redis, request_tracing, with_tracing
from app.observability.tracing import flush as flush_traces
from app.orders.controllers import OrderController, PurchasePayController
from app.orders.seller_pages import SellerOrderController
from app.pages import favicon, home
from app.payments.controllers import payment_webhook
from app.payments.pages import AdminPaymentController, AdminPolicyController, SellerSettlementController
from app.payments.refund_pages import AdminRefundController, SellerRefundController
from app.search.controllers import SearchController, close_search_index, open_search_index
from app.sellers.controllers import SellerController
from app.sellers.products import SellerProductController
from app.settings import PROJECT_ROOT, Settings
from app.web.admission import AdmissionMiddleware, Door, PressLine
from app.web.csrf import SessionCSRFMiddleware
from app.web.errors import EXCEPTION_HANDLERS
from app.web.input_guard import InputGuardMiddleware
from app.web.language import language_page, set_language
from app.web.locale import LocaleMiddleware
from app.web.proof import Proofs
from app.web.proof_pages import proof_challenge
from app.web.security_headers import security_headers_hook
from app.web.services import build_services, provide_services
from app.web.sessions import RotatingSessionConfig
from app.web.single_use import single_use_for
from app.web.templating import build_template_config

log = logging.getLogger(__name__)


def _stores(settings: Settings) -> StoreRegistry:
    stores: dict[str, Store]
    if settings.redis_url:
        from litestar.stores.redis import RedisStore
        from redis.asyncio import BlockingConnectionPool, Redis

        # Every request reads its session here. redis-py 8 caps a plain pool at 100 connections and
        # fails the request past that; under a crowd, wait briefly for a free connection instead.
        pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=100, timeout=10)
        client = instrument_redis(Redis.from_pool(pool), settings)
        root = RedisStore(client, namespace="smore", handle_client_shutdown=True)
        stores = {
            "sessions": root.with_namespace("sessions"),
            "payment-confirms": root.with_namespace("payment-confirms"),
            **{name: root.with_namespace(name) for name in RATE_LIMIT_STORES},
        }
    else:
        (settings.var_dir / "sessions").mkdir(parents=True, exist_ok=True)
        stores = {"sessions": FileStore(settings.var_dir / "sessions")}
    return StoreRegistry(stores=stores)


def _channels(settings: Settings) -> ChannelsPlugin:
    if settings.redis_url:
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        backend: Any = RedisChannelsPubSubBackend(
            redis=instrument_redis(Redis.from_url(settings.redis_url), settings),
            key_prefix=channel_prefix(settings.redis_url),
        )
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True, create_ws_route_handlers=False)


async def _load_member(request: Request[Any, Any, Any]) -> None:
    """Re-load the member behind the session on every request (pages show who is signed in),
    except where the handler checks the member itself (``opt={"loads_member": False}``)."""
    if not request.url.path.startswith("/static/") and request.route_handler.opt.get("loads_member", True):
        await current_member(request)


async def _publish(channels: ChannelsPlugin, channel: str, data: str) -> None:
    channels.publish(data, channels=[channel])


def _state(settings: Settings, database: Database, jobs: Jobs) -> State:
    return State(
        {
            "settings": settings,
            "database": database,
            "broker": jobs.queue,
            "hasher": PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost),
            "login_throttle": login_throttle(settings),
            "proofs": Proofs(settings, single_use_for(settings)),
            "views": ViewCounter(),  # product page views of this process, until the next flush
        }
    )


def _live(state: State, channels: ChannelsPlugin, template_config: Any) -> None:
    """The live hubs and the SSE streams of this process."""
    database: Database = state["database"]
    hubs = build_hubs(
        database, lambda channel, data: _publish(channels, channel, data), template_config.engine_instance.engine
    )
    state["live"] = hubs["product"]
    state["hubs"] = hubs
    state["streams"] = LiveStreams(channels, state["settings"].sse_heartbeat_seconds)
    streams: LiveStreams = state["streams"]
    state["heartbeat"] = HeartbeatPublisher(
        state["settings"], lambda: this_process("web", database.engine, streams.open_count)
    )


class _StopBeforeChannels(InitPluginProtocol):
    """Runs the process's shutdown while the channels plugin still publishes: listed after it, its
    lifespan is left first. An ``on_shutdown`` hook would run after every plugin has stopped, and
    the live states the hubs publish as they close would find the plugin gone (or race its stop)."""

    def __init__(self, shutdown: Callable[[], Any]) -> None:
        self.shutdown = shutdown

    def on_app_init(self, app_config: Any) -> Any:
        app_config.lifespan.append(self._lifespan)
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.shutdown()


class _Lifecycle:
    """What the web process does at start-up and at shutdown."""

    def __init__(self, state: State, stores: StoreRegistry) -> None:
        self.state = state
        self.stores = stores
        self.restore_signals: list[Callable[[], None]] = []

    async def startup(self) -> None:
        check_subscriptions()  # a handler waiting for a topic nobody publishes stops the start here
        state, settings = self.state, self.state["settings"]
        # SSE streams end on SIGTERM: the server waits for open connections before the shutdown
        self.restore_signals.append(state["streams"].stop_on_signals(asyncio.get_running_loop()))
        for hub in state["hubs"].values():
            hub.bind(asyncio.get_running_loop())
        set_hubs(state["hubs"])
        try:  # the gate is an optimisation; a database that does not answer yet must not stop the start
            await reconcile_all(state["database"], gate_for(settings))
        except Exception:
            log.warning("could not rebuild the drop gate at start-up; the periodic reconcile will", exc_info=True)
        if settings.background_jobs:
            state["background"].start()
        state["heartbeat"].start()
        sessions = self.stores.get("sessions")
        if isinstance(sessions, FileStore):
            await sessions.delete_expired()
        if settings.in_process_worker:
            state["broker"].start_worker()

    async def shutdown(self) -> None:
        # Every step is bounded (the whole stop takes under 10 s, see docs/ARCHITECTURE.md).
        state = self.state
        state["streams"].stop()
        for restore in self.restore_signals:
            restore()
        set_hubs(None)
        await asyncio.gather(close_hubs(state["hubs"].values()), state["background"].stop(), state["heartbeat"].stop())
        # The in-process worker finishes the messages it holds within its grace; its handlers may
        # wait for a write this loop still has to finish (SQLite has one writer), so never block
        # the loop on it.
        await asyncio.to_thread(state["broker"].stop)
        await self._return_unfinished()
        await state["database"].dispose()
        if state["sandbox_gateway"] is not None:
            await state["sandbox_gateway"].store.dispose()
        await asyncio.to_thread(flush_traces, state["settings"])  # the spans still in the exporter's batch

    async def _return_unfinished(self) -> None:
        """An in-memory broker's queue ends here: its unfinished event deliveries go back to the outbox."""
        if unsent := self.state["broker"].unfinished_event_ids():
            try:
                async with self.state["database"].transaction() as db:
                    log.info("%d event deliveries back to the outbox", await return_to_outbox(db, unsent))
            except Exception:
                log.exception("could not put %d unfinished event deliveries back in the outbox", len(unsent))


def _route_handlers(settings: Settings, sandbox: SandboxGateway | None = None) -> list[Any]:
    return [
        home,
        favicon,
        healthz,
        *([MetricsController] if settings.metrics else []),
        language_page,
        set_language,
        goodbye,
        DropController,
        LineController,
        proof_challenge,
        DrawController,
        ProductAuctionController,
        AuctionController,
        MyBidsController,
        SellerAuctionController,
        NotificationController,
        MyPurchasesController,
        PurchasePayController,
        OrderController,
        SellerOrderController,
        AdminPaymentController,
        AdminPolicyController,
        SellerSettlementController,
        SellerRefundController,
        AdminRefundController,
        AdminStockLedgerController,
        SellerStockLedgerController,
        AdminFairnessController,
        SellerFairnessController,
        AuthController,
        MeController,
        PasswordResetController,
        EmailConfirmController,
        SellerController,
        SellerProductController,
        AdminController,
        AdminMemberController,
        AdminCategoryController,
        AdminProductController,
        AdminEventController,
        AdminOpsController,
        CategoryController,
        SearchController,
        ProductController,
        create_static_files_router(path="/static", directories=[PROJECT_ROOT / "static"], name="static"),
        picture,  # /uploads/{name}: from the picture storage (app/catalog/pictures.py)
        # The gateway's webhook, when it signs them; the sandbox payment gateway (embedded default
        # or SANDBOX_GATEWAY=1); production talks to the real gateway.
        *([payment_webhook] if settings.payment_webhook_secret else []),
        *([sandbox_gateway_router(sandbox)] if sandbox is not None else []),
        # The mail outbox as a mailbox, for one machine only (it shows every reset link).
        *([DevMailController] if settings.embedded or settings.debug else []),
    ]


def _middleware(settings: Settings, tracing: list[Any], door: Door) -> list[Any]:
    session_config = RotatingSessionConfig(
        store="sessions",
        max_age=settings.session_max_age,
        secure=settings.secure_cookies,
        samesite="lax",
        renew_on_access=True,
        absolute_max_age=settings.session_absolute_seconds,
    )
    return [
        *([prometheus_config().middleware] if settings.metrics else []),  # outermost: times all of it
        *tracing,  # the request's span named by its route, or an upstream trace carried on
        InputGuardMiddleware,
        *client_address_middleware(settings),
        DefineMiddleware(AdmissionMiddleware, door=door),
        session_config.middleware,
        DefineMiddleware(SessionCSRFMiddleware, config=_csrf(settings)),  # reads and binds the session's token
        TransactionMiddleware,
    ]


def _csrf(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name="csrftoken",
        header_name="x-csrftoken",
        cookie_secure=settings.secure_cookies,
        exclude=["/healthz", "^/sandbox-gateway/"],
    )


def create_app(settings: Settings | None, jobs: Jobs) -> Litestar:
    """The web app for ``settings`` (from the environment when None), deferring work through
    ``jobs`` (the scheduler its units of work ask, the queue it starts and stops, the sweeps)."""
    settings = with_tracing(settings or Settings.from_env(), WEB_SERVICE)  # the process's tracer provider, if any
    settings.require_gateway()  # never a shop that takes no payments, or the sandbox's, silently
    pictures_for(settings)  # a picture storage that cannot work stops the start (S3 without a bucket, say)
    settings = with_shared_secret(settings)  # PostgreSQL without SECRET_KEY: the one all hosts share
    configure_logging(settings)  # once per process: every record, the libraries' too, in one format
    set_enabled(settings.metrics)
    database = Database(settings, scheduler=jobs.scheduler)
    stores = _stores(settings)
    settings.uploads_path.mkdir(parents=True, exist_ok=True)
    state = _state(settings, database, jobs)
    template_config = build_template_config(auto_reload=settings.debug)
    state["background"] = BackgroundJobs(settings, database, sweeps=jobs.sweeps, views=state["views"])
    channels = _channels(settings)
    _live(state, channels, template_config)
    state["services"] = build_services(state)  # built once; controllers take ``services``
    state["sandbox_gateway"] = sandbox_gateway(settings) if settings.sandbox_gateway else None
    lifecycle = _Lifecycle(state, stores)
    tracing_middleware, tracing_plugins = request_tracing(settings)
    # The process's turns: page requests at the door, Buy presses and bids in their line.
    door = Door(settings.max_concurrent_requests, settings.request_queue_seconds, settings.max_concurrent_presses)
    app = Litestar(
        route_handlers=_route_handlers(settings, state["sandbox_gateway"]),
        dependencies={"db": Provide(provide_db_session), "services": Provide(provide_services, sync_to_thread=False)},
        middleware=_middleware(settings, tracing_middleware, door),
        template_config=template_config,
        plugins=[HTMXPlugin(), channels, _StopBeforeChannels(lifecycle.shutdown), *tracing_plugins],
        stores=stores,
        state=state,
        before_request=_load_member,
        before_send=[security_headers_hook(settings)],
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[open_search_index, lifecycle.startup],
        on_shutdown=[close_search_index],
        # The API schema pages (/schema*) describe every route: only for a developer.
        openapi_config=OpenAPIConfig(title="Smore", version="1") if settings.debug else None,
        debug=settings.debug,
        logging_config=None,  # configured above, for the whole process (Litestar's own would replace it)
    )
    # The language and zone wrap everything the app answers, the pages of addresses no route
    # matches (a 404 raised before any route's middleware) included.
    app.asgi_handler = LocaleMiddleware(app.asgi_handler)
    # Outside all of it, a live stream the app hands over runs for the rest of its life with
    # nothing of the request's middleware kept (app/live/fanout.py).
    app.asgi_handler = StreamHandoff(app.asgi_handler)
    # Outside that, the request id and the access line: every response carries the id.
    app.asgi_handler = RequestLog(app.asgi_handler)
    # Outermost, the line of Buy presses and bids: one waiting there has cost nothing else yet.
    app.asgi_handler = PressLine(app.asgi_handler, door)
    return app
