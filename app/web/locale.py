"""The viewer's language and time zone, for every request.

The language is the member's setting, else the ``lang`` cookie the header's switch sets, else the
browser's ``Accept-Language`` (Korean when it prefers ``ko``, English otherwise). The zone is the
member's setting, else ``Asia/Seoul``. Both are found when first asked (the member is loaded after
this middleware runs) and kept for the rest of the request."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from app.core.i18n import DEFAULT_LANGUAGE, DEFAULT_ZONE, LANGUAGES, is_zone, set_context

LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
_MEMBER_KEY = "smore_member"
_UNSET = object()


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def accepted_language(header: str) -> str | None:
    """The supported language ``Accept-Language`` prefers (``ko-KR,ko;q=0.9,en;q=0.8`` → ko), or None."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality <= 0:
            continue
        candidate = (-quality, position, primary)
        best = candidate if best is None or candidate < best else best
    return best[2] if best else None


def cookie_language(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if "lang=" not in raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # a malformed cookie header says nothing about the language
        return None
    morsel = cookie.get(LANGUAGE_COOKIE)
    return morsel.value if morsel is not None and morsel.value in LANGUAGES else None


def browser_language(scope: Scope) -> str:
    """The language without the member's setting: the cookie, else ``Accept-Language``."""
    return cookie_language(scope) or accepted_language(_header(scope, b"accept-language")) or DEFAULT_LANGUAGE


def _state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


def language_of(scope: Scope) -> str:
    state = _state(scope)
    if (known := state.get("smore_language")) is not None:
        return str(known)
    member = state.get(_MEMBER_KEY, _UNSET)
    if member is not _UNSET and member is not None and getattr(member, "language", None) in LANGUAGES:
        language = str(member.language)
    else:
        language = state.get("smore_browser_language") or browser_language(scope)
        state["smore_browser_language"] = language
    if member is not _UNSET:  # the member is known: the answer holds for the rest of the request
        state["smore_language"] = language
    return str(language)


def zone_of(scope: Scope) -> str:
    member = _state(scope).get(_MEMBER_KEY)
    zone = getattr(member, "time_zone", None) if member is not None else None
    return zone if zone and is_zone(zone) else DEFAULT_ZONE


class LocaleMiddleware:
    """Sets the language and zone of everything the request runs (pages, errors, flashes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reset = set_context(lambda: language_of(scope), lambda: zone_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            reset()
