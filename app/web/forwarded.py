"""Who the client is behind the balancer: the RFC 7239 ``Forwarded`` header read as uvicorn's
ProxyHeadersMiddleware reads ``X-Forwarded-For`` / ``X-Forwarded-Proto``, and the address the
request ends up with, kept for the audit log.

uvicorn's middleware (``app.accounts.limits.client_address_middleware``) believes the forwarded
headers only from ``TRUSTED_PROXIES``; it knows only the ``X-Forwarded-*`` pair. A proxy that sends
``Forwarded`` instead (HAProxy's ``option forwarded``, Envoy, nginx with a map) gets the same
treatment: ``ForwardedHeaders`` spells it as that pair when the request carries neither, before
uvicorn's trust check, so from any other peer it is ignored exactly as they are. Written here
because neither uvicorn nor Litestar parses ``Forwarded``; only its ``for`` and ``proto`` are read.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

# The client address of the request being served (after the trusted proxies' word), for the rows a
# request writes about who acted (``app.audit``); None outside a request.
CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("smore_client_address", default=None)

_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*')
_PROTOS = {"http", "https"}


def _node(value: str) -> str:
    """A ``for=`` node as X-Forwarded-For writes it: ``[2001:db8::1]:4711`` → ``2001:db8::1``,
    ``192.0.2.1:80`` → ``192.0.2.1``; ``unknown`` and obfuscated ``_names`` stay as they are."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    host, _, port = value.partition(":")
    return host if port.isdigit() and "." in host else value


def parse_forwarded(header: str) -> tuple[list[str], str | None]:
    """The ``for`` nodes of a ``Forwarded`` header, nearest last, and the ``proto`` its last
    element (the nearest proxy's) names; an element that does not parse ends the reading."""
    nodes: list[str] = []
    proto: str | None = None
    for element in header.split(","):
        params: dict[str, str] = {}
        for part in element.split(";"):
            if not part.strip():
                continue
            match = _PAIR.fullmatch(part)
            if match is None:
                return nodes, proto
            name, value = match.group(1).lower(), match.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[name] = value
        if "for" in params:
            nodes.append(_node(params["for"]))
        proto = params.get("proto", "").lower() or None
    return nodes, proto if proto in _PROTOS else None


class ForwardedHeaders:
    """A request with ``Forwarded`` and no ``X-Forwarded-For`` / ``X-Forwarded-Proto`` gets them
    spelled from it (only what the trusted-proxy check that follows then believes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = scope["headers"]
            names = {name for name, _ in headers}
            if b"forwarded" in names and not names & {b"x-forwarded-for", b"x-forwarded-proto"}:
                raw = ", ".join(value.decode("latin1") for name, value in headers if name == b"forwarded")
                nodes, proto = parse_forwarded(raw)
                extra = [(b"x-forwarded-for", ", ".join(nodes).encode("latin1"))] if nodes else []
                extra += [(b"x-forwarded-proto", proto.encode())] if proto else []
                scope["headers"] = [*headers, *extra]
        await self.app(scope, receive, send)


class ClientAddressContext:
    """Keeps the request's client address (the peer, or the client a trusted proxy named) in
    ``CLIENT_ADDRESS`` while the request is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = CLIENT_ADDRESS.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)
