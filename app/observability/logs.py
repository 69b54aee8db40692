"""Structured logs: one configuration per process, the request's or the message's context on every
line, and no secret in any of them.

``configure_logging(settings)`` (called by the web app's ``create_app`` and the worker's entry
point) sends every record of the process through one structlog ``ProcessorFormatter`` on the root
logger: the shop's ``logging.getLogger(__name__)`` calls, structlog loggers, and the libraries'
records (uvicorn, Dramatiq, SQLAlchemy, httpx). ``LOG_FORMAT=json`` writes one JSON object per
line, anything else readable lines; ``LOG_LEVEL`` (default INFO, DEBUG with ``DEBUG=1``) is the
root's level.

A line carries what is bound in the context (``structlog.contextvars``, so it follows awaits and
ends with its request or message): ``request_id`` and ``member_id`` in a request (``RequestLog``
and ``bind_member``), ``message_id``, ``actor`` and ``event_id`` in a worker (``bind_message``), and
``trace_id`` / ``span_id`` while an OpenTelemetry span is active.

Secrets never reach the output (``app/observability/redaction.py``): values under keys that name
one are replaced, and every rendered line is scrubbed. Form bodies are never logged."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

import structlog
from litestar.enums import ScopeType
from opentelemetry import trace
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars, unbind_contextvars
from structlog.stdlib import ProcessorFormatter

from app.observability.redaction import Scrubber, process_secrets, redact_secret_keys
from app.settings import SettingsError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send
    from structlog.typing import EventDict, Processor, WrappedLogger

    from app.settings import Settings

LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.encode()

# Loggers kept above a floor whatever LOG_LEVEL says: SQLAlchemy's engine logs every statement
# with its parameters (mail bodies with reset links, email addresses) at INFO, the drivers and the
# HTTP client's transport every step at DEBUG.
_FLOORS = {
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "aiosqlite": logging.INFO,
    "httpcore": logging.INFO,
    "multipart": logging.INFO,
    "PIL": logging.INFO,
    "watchfiles": logging.WARNING,
}


# --- Context ------------------------------------------------------------------------------------


def span_ids() -> dict[str, str]:
    """The ids of the active OpenTelemetry span, if there is one (with the API alone there never is)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def add_trace_ids(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    for key, value in span_ids().items():
        event_dict.setdefault(key, value)
    return event_dict


def bind_member(member_id: int | None) -> None:
    """The signed-in member of the request, on its lines from now on (None: nobody any more)."""
    if member_id is None:
        unbind_contextvars("member_id")
    else:
        bind_contextvars(member_id=member_id)


def bind_message(message_id: str, actor: str, event_id: str | None = None, topic: str | None = None) -> None:
    """A worker thread starts a message: its lines carry these until ``end_message``."""
    clear_contextvars()
    bind_contextvars(message_id=message_id, actor=actor)
    if event_id is not None:
        bind_contextvars(event_id=event_id, topic=topic)


def end_message() -> None:
    clear_contextvars()


_SANE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def accepted_request_id(value: str | None) -> str | None:
    """A client's or proxy's ``X-Request-ID`` when it is sane: printable ASCII, no space, ≤ 128."""
    return value if value and _SANE_REQUEST_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


# --- Configuration ------------------------------------------------------------------------------


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the process's stderr as it is at each line (a Dramatiq worker process points it
    at the pipe to its parent, a test runner at its capture), or to a stream given."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        logging.Handler.__init__(self)
        self._given = stream

    @property
    def stream(self) -> IO[str]:
        return self._given or sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        self._given = value


def _level(settings: Settings) -> int:
    name = (settings.log_level or ("DEBUG" if settings.debug else "INFO")).upper()
    if name not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {settings.log_level!r}")
    return int(logging.getLevelName(name))


def _renderer(log_format: str) -> list[Processor]:
    if log_format == "json":
        return [
            structlog.processors.format_exc_info,
            _head_first,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    if log_format == "console":
        colors = sys.stderr.isatty()
        # plain tracebacks: the rich one shows local variables, passwords among them
        return [structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)]
    raise SettingsError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


_HEAD = ("timestamp", "level", "logger", "event")


def _head_first(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """When, how bad, where and what first; the context after."""
    head = {key: event_dict.pop(key) for key in _HEAD if key in event_dict}
    return {**head, **event_dict}


def _scrubbing(render: Processor, scrub: Scrubber) -> Callable[..., str]:
    def render_and_scrub(logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        return scrub(str(render(logger, method, event_dict)))

    return render_and_scrub


def _context() -> list[Processor]:
    """What every line is given where it is logged: the bound context, level, logger, time, span."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
    ]


def formatter(settings: Settings) -> ProcessorFormatter:
    """The one formatter of the process's lines, for ``settings.log_format``."""
    *before, render = _renderer((settings.log_format or "console").lower())
    return ProcessorFormatter(
        foreign_pre_chain=_context(),
        processors=[
            ProcessorFormatter.remove_processors_meta,
            redact_secret_keys,
            *before,
            _scrubbing(render, Scrubber(process_secrets(settings))),
        ],
    )


def _own_handlers(root: logging.Logger) -> list[logging.Handler]:
    """Root handlers this replaces: its own, and a plain stream handler put there before it
    (``logging.basicConfig``, Dramatiq's command line), which would print every line twice."""
    return [h for h in root.handlers if isinstance(h, _StandardError) or type(h) is logging.StreamHandler]


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Every log record of this process, in ``settings.log_format`` at ``settings.log_level``, to
    stderr (or ``stream``). Called again, it replaces what it set before."""
    level = _level(settings)
    handler = _StandardError(stream)
    handler.setFormatter(formatter(settings))
    root = logging.getLogger()
    for old in _own_handlers(root):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in _FLOORS.items():
        logging.getLogger(name).setLevel(max(level, floor))
    # uvicorn's own handlers go (its lines come here); its access log is replaced by ours.
    # LOG_LEVEL rules them too (a server started with --log-level, or a logging config that
    # disabled the loggers it found, would otherwise hide them).
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_log = logging.getLogger(name)
        uvicorn_log.handlers.clear()
        uvicorn_log.propagate = True
        uvicorn_log.setLevel(logging.NOTSET)
        uvicorn_log.disabled = False
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_context(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# --- The access log -----------------------------------------------------------------------------

ACCESS_LOGGER = "smore.access"
_access = logging.getLogger(ACCESS_LOGGER)
_access_log = structlog.stdlib.get_logger(ACCESS_LOGGER)
# Not worth a line per request: files, and the health check a load balancer asks every few seconds.
_UNLOGGED_PREFIXES = ("/static/", "/uploads/")
_UNLOGGED = frozenset({"/healthz", "/favicon.ico"})


def _request_id_of(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == _REQUEST_ID_KEY:
            return accepted_request_id(bytes(value).decode("latin-1")) or new_request_id()
    return new_request_id()


def _log_request(scope: Scope, status: int | None, seconds: float, span: dict[str, str]) -> None:
    path = scope.get("path", "")
    if path in _UNLOGGED or path.startswith(_UNLOGGED_PREFIXES):
        return
    handler = scope.get("route_handler")
    # Buy presses and bids (``opt={"quiet_access_log": True}``): a drop's crowd, at DEBUG only.
    quiet = handler is not None and getattr(handler, "opt", {}).get("quiet_access_log", False)
    level = logging.DEBUG if quiet else logging.INFO
    if not _access.isEnabledFor(level):
        return
    route = scope.get("path_template") or None
    where = {"route": route} if route else {"route": None, "path": path}
    duration = round(seconds * 1000, 1)
    _access_log.log(level, "request", method=scope.get("method"), **where, status=status, duration_ms=duration, **span)


class RequestLog:
    """The outermost ASGI wrapper of the web app: every request gets its id (the sane
    ``X-Request-ID`` it came with, else a new one) on its log lines and in its response's
    ``X-Request-ID`` (error pages and unknown addresses too), and one access line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _request_id_of(scope)
        outer = get_contextvars()  # a request served inside another (a test's in-process gateway)
        clear_contextvars()
        bind_contextvars(request_id=request_id)
        header = (_REQUEST_ID_KEY, request_id.encode())
        status: list[int] = []
        span: dict[str, str] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                span.update(span_ids())  # the request's span, which has ended by the access line
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_request(scope, status[0] if status else None, time.perf_counter() - started, span)
            clear_contextvars()
            if outer:
                bind_contextvars(**outer)
