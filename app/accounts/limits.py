"""The limits of the entry points, built from the settings: the failed-login throttle, sign-ups,
inline email checks and joins of a waiting room's line per client address (Litestar's
RateLimitMiddleware, one store each: in memory, or shared in Redis with ``REDIS_URL``), and who the
client address is (uvicorn's ProxyHeadersMiddleware, believing forwarded headers only from
``TRUSTED_PROXIES``)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DurationUnit, RateLimitConfig, RateLimitMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.accounts.throttle import LoginLimits, LoginThrottle, MemoryCounter, RedisCounter
from app.observability.tracing import instrument_redis
from app.settings import Settings
from app.web.forwarded import ClientAddressContext, ForwardedHeaders

# The stores the per-address form limits count in (``app.asgi`` puts them in Redis with REDIS_URL).
RATE_LIMIT_STORES = ("signup-limit", "email-check-limit", "line-join-limit", "draw-entry-limit")


def login_throttle(settings: Settings) -> LoginThrottle:
    limits = LoginLimits(**{f.name: getattr(settings, f"login_{f.name}") for f in fields(LoginLimits)})
    if not settings.redis_url:
        return LoginThrottle(MemoryCounter(), limits)
    counter = RedisCounter(settings.redis_url)
    instrument_redis(counter._redis, settings)  # a span per command, when tracing is on
    return LoginThrottle(counter, limits)


class FormRateLimit:
    """Litestar's RateLimitMiddleware on one form's route, its limit read from the app's settings
    (``setting``, requests per ``unit``) when the first request arrives; counted in ``store``."""

    def __init__(self, app: ASGIApp, *, store: str, unit: DurationUnit, setting: str) -> None:
        self.app = app
        self.store, self.unit, self.setting = store, unit, setting
        self._limited: RateLimitMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limited is None:
            settings: Settings = scope["litestar_app"].state.settings
            config = RateLimitConfig(rate_limit=(self.unit, getattr(settings, self.setting)), store=self.store)
            self._limited = RateLimitMiddleware(self.app, config)
        await self._limited(scope, receive, send)


SIGNUP_LIMIT = DefineMiddleware(
    FormRateLimit, store=RATE_LIMIT_STORES[0], unit="hour", setting="signups_per_address_per_hour"
)
EMAIL_CHECK_LIMIT = DefineMiddleware(
    FormRateLimit, store=RATE_LIMIT_STORES[1], unit="minute", setting="email_checks_per_address_per_minute"
)
# Joining a line, refused joins and the no-JavaScript wait's first post included; entering a draw
# likewise, in a store and under a setting of its own.
LINE_JOIN_LIMIT = DefineMiddleware(
    FormRateLimit, store=RATE_LIMIT_STORES[2], unit="minute", setting="line_joins_per_address_per_minute"
)
DRAW_ENTRY_LIMIT = DefineMiddleware(
    FormRateLimit, store=RATE_LIMIT_STORES[3], unit="minute", setting="draw_entries_per_address_per_minute"
)


def client_address_middleware(settings: Settings) -> list[Any]:
    """With ``TRUSTED_PROXIES``, a request from one of them carries its client's address and
    scheme (the nearest untrusted hop of X-Forwarded-For, or of ``Forwarded``); without, the peer
    is the client. The server must not rewrite them itself (``uvicorn --no-proxy-headers``, see the
    Procfile). The address the request ends with is kept for the audit log."""
    if not settings.trusted_proxies:
        return [ClientAddressContext]
    proxies: Any = ProxyHeadersMiddleware  # uvicorn types it with its own (equal) ASGI types
    return [
        ForwardedHeaders,
        DefineMiddleware(proxies, trusted_hosts=list(settings.trusted_proxies)),
        ClientAddressContext,
    ]
