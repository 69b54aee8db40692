"""Typed settings read from the environment, with embedded defaults.

Nothing here is read at import time: ``Settings.from_env()`` is called by the app factory, the
worker entry point and the command-line tools, and tests build their own ``Settings``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_SECRET_KEY = "test_sk_smore_sandbox"
SANDBOX_CLIENT_KEY = "test_ck_smore_sandbox"
SANDBOX_WEBHOOK_SECRET = "test_whsec_smore_sandbox"


class SettingsError(RuntimeError):
    """The settings cannot run the shop; the message says which to set."""


def normalise_database_url(url: str) -> str:
    """Map the URL forms hosting platforms hand out onto the async drivers we use."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def _secret_key(var_dir: Path) -> str:
    """Read the secret kept under ``var/``, creating it on first use."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """``TRUSTED_PROXIES``: IPs or CIDRs separated by commas or spaces, or "*"; anything else
    stops the start (a proxy silently not trusted, or a typo trusted as a name, would be worse)."""
    entries = tuple(item for item in re.split(r"[,\s]+", raw) if item)
    for entry in entries:
        if entry != "*":
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network") from None
    return entries


T = TypeVar("T")

# How a variable's text becomes a setting, by the setting's type as written (annotations stay text
# in this module). A number must parse; any other variable set empty counts as unset.
_PARSERS: dict[str, Callable[[str], object]] = {
    "int": int,
    "float": float,
    "int | None": int,
    "bool": lambda text: text.lower() in {"1", "true", "yes"},
    "str": str,
    "str | None": str,
    "Path | None": lambda text: Path(text).resolve(),
    "tuple[str, ...]": parse_trusted_proxies,
}
_NUMBERS = {"int", "float"}


def env_var(default: T) -> T:
    """A setting ``Settings.from_env`` reads from the variable of its name in capitals (``port``: ``PORT``)."""
    return field(default=default, metadata={"env_var": True})


def _from_variables(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``env_var`` settings whose variables are set."""
    values: dict[str, Any] = {}
    for setting in fields(Settings):
        text = env.get(setting.name.upper()) if setting.metadata.get("env_var") else None
        if text is not None and (text or setting.type in _NUMBERS):
            values[setting.name] = _PARSERS[str(setting.type)](text)
    return values


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    var_dir: Path
    redis_url: str | None = env_var(None)
    port: int = env_var(8000)
    debug: bool = env_var(False)
    # Log lines: "json" (one JSON object per line, for production) or "console" (readable); the
    # root level (None: DEBUG with ``debug``, else INFO). ``app/observability/logs.py``.
    log_format: str = env_var("console")
    log_level: str | None = env_var(None)
    # Session lifetimes: idle (renewed by each request) and absolute (from sign-in, however active).
    session_max_age: int = 14 * 24 * 3600
    session_absolute_seconds: int = env_var(30 * 24 * 3600)
    secure_cookies: bool = env_var(False)
    # Failed-login limits (``app/accounts/throttle.py``): refused passwords allowed per window for
    # one email from one client address, and from one address; past them the pair or the address
    # is refused until the window ends. An email alone is never refused: after ``login_slow_after``
    # refused passwords in the window its sign-ins wait ``login_delay_seconds``, doubling with each
    # further one up to ``login_max_delay_seconds``.
    login_failures_per_pair: int = env_var(5)
    login_failures_per_address: int = env_var(20)
    login_failure_window_seconds: int = env_var(15 * 60)
    login_slow_after: int = env_var(3)
    login_delay_seconds: float = env_var(1.0)
    login_max_delay_seconds: float = env_var(10.0)
    # A login attempt holds its slots this long at most unless it ends (a process that dies
    # mid-attempt frees them then); only a refused password counts for the window above.
    login_attempt_seconds: int = env_var(30)
    # Sign-ups and inline email checks allowed per client address (an hour, a minute).
    signups_per_address_per_hour: int = env_var(20)
    email_checks_per_address_per_minute: int = env_var(30)
    # Joins of a waiting room's line allowed per client address a minute (refused ones count too).
    line_joins_per_address_per_minute: int = env_var(30)
    # Entries into a draw allowed per client address a minute (refused ones count too).
    draw_entries_per_address_per_minute: int = env_var(30)
    # The proof a member gives before joining a line (``app/web/proof.py``): with JavaScript, a
    # proof of work whose counter the browser must find is drawn below this number (the work is
    # about half of it, in SHA-256 hashes); without, a wait of this many seconds.
    proof_of_work_max_number: int = env_var(20_000)
    proof_of_time_seconds: int = env_var(5)
    # The proxies (IPs or CIDRs; "*" for any) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed; from any other peer those headers are ignored. Default: none.
    trusted_proxies: tuple[str, ...] = env_var(())
    # Argon2 cost; tests lower it to keep the suite fast.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    # Run Dramatiq's in-process worker in the web process (embedded default without Redis).
    in_process_worker: bool = True
    page_size: int = 20
    # Uploaded product images and the Whoosh search index live here (default: under var/).
    upload_dir: Path | None = env_var(None)  # noqa: RUF009  (env_var returns a dataclasses.field)
    search_dir: Path | None = env_var(None)  # noqa: RUF009
    # Where picture bytes live (``app/catalog/pictures.py``): "local" (the uploads folder, one host
    # only), "database" (a table, every host serves every picture) or "s3"; None: "s3" when
    # S3_BUCKET is set, else "database" on PostgreSQL and "local" on SQLite. An S3-compatible bucket
    # is reached with the obstore package (S3_ENDPOINT_URL for a non-AWS service).
    picture_storage: str | None = env_var(None)
    s3_bucket: str | None = env_var(None)
    s3_endpoint_url: str | None = env_var(None)
    s3_region: str | None = env_var(None)
    s3_access_key_id: str | None = env_var(None)
    s3_secret_access_key: str | None = env_var(None)
    s3_prefix: str | None = env_var(None)
    max_image_bytes: int = 5 * 1024 * 1024
    max_images: int = 5
    # The outbox relay polls this often (seconds) besides being woken after each commit.
    outbox_poll_seconds: float = 1.0
    # Safety sweeps (scheduled sales that should have opened, popularity) run this often.
    sweep_seconds: float = env_var(30.0)
    # Product page views are counted in memory and written to the daily counters this often.
    view_flush_seconds: float = env_var(5.0)
    # How long a purchase right waits for its payment.
    purchase_hold_seconds: int = env_var(600)
    # Waiting room (``SaleMode.WAITING_ROOM``): members join the line this many minutes before the
    # start; from the start the line is let in at this rate, unless the listing (or an administrator)
    # sets its own. The default is what this shop sustains in its waiting-room benchmark
    # (``bench/line.py``: 10,000 members watching, each one let in fetching its part of the page and
    # pressing Buy, Buy's p99 about 250 ms at 50 places a second on two cores).
    waiting_room_opens_before_minutes: int = env_var(15)
    admission_rate_per_minute: int = env_var(3_000)
    # A place let in may press Buy for this long (its admission's life): a member who leaves the
    # page keeps their place, and once let in has this long to buy; an admission not used by then
    # gives its unit to the next place. Admissions are issued on every view of the line page and
    # by a loop of the web process every ``admission_poll_seconds``.
    admission_minutes: int = env_var(10)
    admission_poll_seconds: float = 1.0
    # Soft close: a bid this close to an auction's end pushes the end back by as much.
    auction_extend_seconds: int = env_var(60)
    # How long an auction winner (or a bidder a unit passes to) has to pay.
    auction_pay_seconds: int = env_var(24 * 3600)
    # Failures of one event handler before it is parked for an admin (None: dispatch.PARK_AFTER).
    event_park_after: int | None = env_var(None)
    # An event sent to the queue but not handled this long after is sent again (the broker may have
    # lost it); the wait doubles with each further send.
    event_resend_seconds: float = env_var(30.0)
    # Handled events, their inbox rows and failures are deleted this long after they were handled.
    event_retention_hours: float = env_var(168.0)
    # Run the relay and the periodic sweeps inside the web process.
    background_jobs: bool = True
    # On SIGTERM a worker gives the handlers it is running this long to finish; a handler still
    # running then is interrupted (its transaction rolls back) and its message retried. Keep it
    # below the worker's --worker-shutdown-timeout (Procfile) minus about 2 s.
    worker_stop_grace_seconds: float = env_var(3.0)
    # Open a fresh connection per checkout instead of pooling (tests drive one app from two event
    # loops, and asyncpg connections belong to the loop that opened them).
    database_null_pool: bool = False
    # PgBouncer in transaction mode between the processes and PostgreSQL: no prepared statement
    # outlives its statement (asyncpg's and SQLAlchemy's caches off, a unique name for each), since
    # the next transaction may run on another server connection. The README has the budget.
    database_pgbouncer: bool = env_var(False)
    # Each process's share of the database's connections: ``pool_size`` kept open, ``max_overflow``
    # more at a peak; a checkout waits at most ``pool_timeout`` seconds, then the request gets a 503
    # page (a Buy or bid batch waits longer, ``batch_connection_patience``). The README has the budget.
    db_pool_size: int = env_var(10)
    db_max_overflow: int = env_var(5)
    db_pool_timeout: float = env_var(10.0)
    batch_connection_patience: float = 30.0
    # Requests at work at once per web process (0: no limit); the rest wait their turn, at most
    # ``request_queue_seconds``, then get a 503 page (``app/web/admission.py``).
    max_concurrent_requests: int = env_var(32)
    # Buy presses and bids whose session, form and key are read at once per web process; the rest
    # wait in line in their order of arrival (0: no line). See ``app/web/admission.py``.
    max_concurrent_presses: int = env_var(16)
    request_queue_seconds: float = env_var(30.0)
    # Every live stream sends a ``: ping`` comment after this many seconds without a message, so a
    # proxy or balancer in between never takes it for a dead connection (``app/live/streams.py``).
    sse_heartbeat_seconds: float = env_var(15.0)
    # Payment gateway (TossPayments-style API). No URL: the sandbox gateway mounted in this app.
    payment_gateway_url: str | None = env_var(None)
    payment_secret_key: str = env_var(SANDBOX_SECRET_KEY)
    payment_client_key: str = env_var(SANDBOX_CLIENT_KEY)
    # Signs the gateway's webhooks (HMAC-SHA256); None: no webhook, the reconcile alone notices
    # payments changed at the gateway. From the environment: the sandbox's own secret only when
    # the shop runs its own sandbox.
    payment_webhook_secret: str | None = env_var(SANDBOX_WEBHOOK_SECRET)
    # The reconcile looks up, per sweep, this many payments made in the last so many days (those
    # checked longest ago first) for cancellations made at the gateway outside the shop.
    payment_reconcile_days: float = env_var(30.0)
    payment_reconcile_batch: int = env_var(100)
    # The gateway client gives up on a call after this many seconds.
    gateway_timeout_seconds: float = env_var(10.0)
    # Mount the sandbox gateway under /sandbox-gateway: SANDBOX_GATEWAY, or from the environment
    # by default only in the embedded default (no DATABASE_URL, no REDIS_URL, no gateway URL).
    sandbox_gateway: bool = env_var(True)
    # Where the sandbox keeps its payments (``app/gateway/sandbox_store.py``). None: its own schema
    # in the shop's PostgreSQL database, so every host shares them, or on SQLite a file of its own
    # under ``var_dir``; a PostgreSQL URL (or a SQLite one, a file every process can reach) instead.
    sandbox_gateway_database_url: str | None = env_var(None)
    # A payment still being confirmed, or a refund still reserved, this long after its last change
    # was left by a process that died: the payments sweep finishes it.
    payment_stale_seconds: float = env_var(120.0)
    # How long the sandbox's "timeout" and "response lost" test cards keep a confirm waiting.
    sandbox_hang_seconds: float = env_var(15.0)
    # The sandbox answers a refund it has made this many seconds late (0: at once); tests use it to
    # kill a worker between the gateway's refund and the worker's own commit.
    sandbox_cancel_delay_seconds: float = 0.0
    # Mail: sent through SMTP with ``smtp_url`` (smtp://user:pass@host:port, smtp+starttls://…,
    # smtps://…); without it, mail stays in the outbox table (shown at /dev/mail in the embedded
    # default or with DEBUG).
    smtp_url: str | None = env_var(None)
    mail_from: str = env_var("Smore <no-reply@smore.test>")
    # The shop's address as its visitors reach it, for links in mail (never taken from a request's
    # Host header). None: http://127.0.0.1:{port}.
    public_url: str | None = env_var(None)
    # How long a "forgot password" link works.
    password_reset_seconds: int = env_var(30 * 60)
    # How long the link mailed to confirm a member's address works (``app/accounts/confirmations.py``).
    email_confirm_hours: int = env_var(48)
    # Traces (``app/observability/tracing.py``): exported over OTLP/HTTP when an endpoint is set
    # (the exporter reads the other ``OTEL_EXPORTER_OTLP_*`` variables itself); off otherwise.
    otel_exporter_otlp_endpoint: str | None = env_var(None)
    otel_exporter_otlp_traces_endpoint: str | None = env_var(None)
    otel_service_name: str | None = env_var(None)
    otel_sdk_disabled: bool = env_var(False)
    # The process's OpenTelemetry tracer provider: built once by ``with_tracing`` (or a test's own);
    # None: tracing is off and every tracer is the API's no-op.
    tracer_provider: Any = field(default=None, compare=False, repr=False)
    # Prometheus metrics (``app/observability``): recorded and served at /metrics unless METRICS=0;
    # /metrics answers a signed-in admin or ``Authorization: Bearer <metrics_token>``. A worker
    # process serves its own on ``worker_metrics_host:worker_metrics_port`` (0: not served).
    metrics: bool = env_var(True)
    metrics_token: str | None = env_var(None)
    worker_metrics_host: str = env_var("127.0.0.1")
    worker_metrics_port: int = env_var(9191)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or self.var_dir / "uploads"

    @property
    def search_path(self) -> Path:
        return self.search_dir or self.var_dir / "search"

    @property
    def gateway_base_url(self) -> str:
        """The gateway the shop pays through, without a trailing slash."""
        url = self.payment_gateway_url or f"http://127.0.0.1:{self.port}/sandbox-gateway"
        return url.rstrip("/")

    def gateway_problem(self) -> str | None:
        """Why the shop cannot take payments with these settings (None: it can)."""
        if not self.sandbox_gateway and not self.payment_gateway_url:
            return (
                "No payment gateway is configured. Set PAYMENT_GATEWAY_URL, PAYMENT_SECRET_KEY and "
                "PAYMENT_CLIENT_KEY for the real gateway (and PAYMENT_WEBHOOK_SECRET for its webhook), "
                "or SANDBOX_GATEWAY=1 to run the built-in sandbox gateway (test payments only)."
            )
        if self.payment_gateway_url and not self.sandbox_gateway and self.payment_secret_key == SANDBOX_SECRET_KEY:
            return (
                "PAYMENT_GATEWAY_URL is set but PAYMENT_SECRET_KEY is the sandbox's public test key: set the gateway's."
            )
        return None

    def require_gateway(self) -> None:
        if problem := self.gateway_problem():
            raise SettingsError(problem)

    @property
    def site_url(self) -> str:
        """The shop's own address for links that leave it (mail), without a trailing slash."""
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def embedded(self) -> bool:
        """The embedded default: the SQLite file and no Redis (one process on one machine)."""
        return self.is_sqlite and not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def database_backend(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]  # field names are checked by replace itself

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("SMORE_VAR_DIR", PROJECT_ROOT / "var")).resolve()
        var_dir.mkdir(parents=True, exist_ok=True)
        database_url = normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'smore.sqlite3'}"
        )
        values = _from_variables(env)
        # The sandbox is mounted only in the embedded default or when asked for; production without
        # a gateway then fails at start-up (``require_gateway``).
        embedded = not env.get("DATABASE_URL") and values.get("redis_url") is None
        sandbox = values.setdefault("sandbox_gateway", embedded and values.get("payment_gateway_url") is None)
        own_sandbox = sandbox and values.get("payment_gateway_url") is None
        values.setdefault("payment_webhook_secret", SANDBOX_WEBHOOK_SECRET if own_sandbox else None)
        return cls(
            database_url=database_url,
            # PostgreSQL without SECRET_KEY: empty here, the one secret all hosts share is read from
            # the database when the app is built (``app.core.shared_secret``).
            secret_key=env.get("SECRET_KEY") or (_secret_key(var_dir) if database_url.startswith("sqlite") else ""),
            var_dir=var_dir,
            in_process_worker=values.get("redis_url") is None,
            **values,
        )
