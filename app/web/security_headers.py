"""Security headers on every response the app sends.

A ``before_send`` hook of the app (not a route middleware): it sees every response start, those of
route handlers, static files and uploads, error pages and the 404 of a path no route matches alike.
A header a handler has set already is left as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from app.settings import Settings

HSTS_SECONDS = 365 * 24 * 3600


def content_security_policy(settings: Settings) -> str:
    """Only the shop's own scripts, styles, pictures and streams; forms post to the shop (and to
    the payment gateway's checkout when it lives elsewhere); no page of the shop in a frame.
    Workers only from the shop's own files: the proof-of-work widget's (``static/vendor``), whose
    hashing is the browser's WebCrypto, so no WASM and no ``blob:`` worker is allowed."""
    form_action = ["'self'"]
    if settings.payment_gateway_url:
        gateway = urlsplit(settings.payment_gateway_url)
        form_action.append(f"{gateway.scheme}://{gateway.netloc}")
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": form_action,
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if settings.secure_cookies:  # served over HTTPS: browsers keep to it from now on
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    return headers


def security_headers_hook(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The app's ``before_send`` hook adding :func:`security_headers` to each response start."""
    wanted = list(security_headers(settings).items())

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        message.setdefault("headers", [])
        headers = MutableScopeHeaders.from_message(message)
        for name, value in wanted:
            if name not in headers:
                headers[name] = value

    return add_headers
