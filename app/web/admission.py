"""A bounded number of requests at work per web process; the rest wait their turn at the door.

A crowd on a two-core machine asks for more pages than the processes can make. Started all at
once, every request would hold a pooled database connection while the event loop, busy with
everyone else, gets round to it: connections are held for seconds, the pool runs dry and requests
fail after ``DB_POOL_TIMEOUT``. Admitted at most ``limit`` at a time (first come, first served),
each request runs without waiting on the others and gives its connection back at once; the same
pages come out at the same rate, and none fails. A request that waits longer than ``patience``
seconds at the door gets a 503 page with ``Retry-After`` (nothing was done). Endless streams
(server-sent events), static files, the health check and the embedded sandbox gateway (the shop's
own requests call it while holding their turn) never wait.

Buy presses and bids wait in a line of their own, in their order of arrival: at most
``press_limit`` of them at a time get their session read, their form parsed and checked and their
key looked up; each gives its place to the next the moment it joins its batch
(``app/core/line.py``), so a press waits for its answer outside the line. Started all at once, the
10,000 presses of a drop's first second would share the event loop in turns, each step of each
press behind a step of every other, so the presses sent first, the ones that get the units, would
be answered with the last; in line, they are decided first."""

from __future__ import annotations

import asyncio
import logging

import anyio
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from markupsafe import escape

from app.core.i18n import _, current_language, set_context
from app.core.line import Place, forget_place, take_place
from app.web.locale import language_of, zone_of

log = logging.getLogger(__name__)
_TURN = "smore_admission_turn"  # the scope state's key of the door a request was let in by


def _busy_page() -> bytes:
    """The 503 page, in the viewer's language (no template: the shop is too busy for one)."""
    language = current_language()
    title, heading = escape(_("Busy")), escape(_("The shop is very busy"))
    text = escape(_("Nothing was done. Please try again in a few seconds."))
    return (
        f"<!doctype html><html lang={language}><meta charset=utf-8><meta name=viewport "
        f"content='width=device-width'><title>{title}</title><h1>{heading}</h1><p>{text}</p></html>"
    ).encode()


def is_press(scope: Scope) -> bool:
    """A Buy press or a bid: they wait in their own line, never behind page views."""
    return scope.get("method") == "POST" and scope.get("path", "").endswith(("/buy", "/bids"))


def waits_at_the_door(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path.endswith("/events") or path.startswith(("/static/", "/uploads/")) or path == "/healthz":
        return False
    if path.startswith("/sandbox-gateway/"):  # an outside service mounted here: the shop's own
        return False  # requests wait on it while holding their turn, so it must never wait for one
    # Buy presses and bids queue in their own line and batches (one connection per product or
    # auction), so they never wait behind page views: in a drop, they are what must be fast.
    return not is_press(scope)


class Door:
    """The turns of one web process, shared by every route: Litestar builds a middleware instance
    per route handler, so the semaphores live here, made once by ``create_app``."""

    def __init__(self, limit: int, patience: float, press_limit: int = 0) -> None:
        self.limit = limit
        self.patience = patience
        self.press_limit = press_limit
        # per event loop (tests serve one app from several)
        self._slots: dict[tuple[int, bool], asyncio.Semaphore] = {}

    def slots(self, presses: bool = False) -> asyncio.Semaphore:
        """The turns of page requests, or (``presses``) the places at the front of the press line."""
        key = (id(asyncio.get_running_loop()), presses)
        if (slots := self._slots.get(key)) is None:
            slots = self._slots[key] = asyncio.Semaphore(self.press_limit if presses else self.limit)
        return slots


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int = 0, patience: float = 30.0, door: Door | None = None) -> None:
        self.app = app
        self.door = door or Door(limit, patience)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.door
        if scope["type"] != ScopeType.HTTP or door.limit <= 0 or not waits_at_the_door(scope):
            await self.app(scope, receive, send)
            return
        slots = door.slots()
        if not await _wait(slots, door.patience, scope, send):
            return
        scope.setdefault("state", {})[_TURN] = slots
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


class PressLine:
    """The line of Buy presses and bids, wrapped around the whole app (outside the request log and
    every middleware), so that a press waiting in it has cost nothing but its parsing: a drop's
    first second brings thousands, and what each costs before its turn is taken from the presses
    at the front. The wait is therefore not in the request's logged or measured duration."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.door
        if scope["type"] != ScopeType.HTTP or door.press_limit <= 0 or not is_press(scope):
            await self.app(scope, receive, send)
            return
        slots = door.slots(presses=True)
        if not await _wait(slots, door.patience, scope, send):
            return
        place = Place(slots)
        token = take_place(place)
        try:
            await self.app(scope, receive, send)
        finally:
            place.give_back()
            forget_place(token)


async def _wait(slots: asyncio.Semaphore, patience: float, scope: Scope, send: Send) -> bool:
    """Wait for a turn; False (a 503 page sent) when none came within the patience."""
    try:
        await asyncio.wait_for(slots.acquire(), timeout=patience)
    except TimeoutError:
        log.warning("%s %s waited %.0f s at the door: 503", scope.get("method"), scope.get("path"), patience)
        reset = set_context(lambda: language_of(scope), lambda: zone_of(scope))  # the line is outside
        try:  # the locale middleware
            page = _busy_page()
        finally:
            reset()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"retry-after", b"5")],
            }
        )
        await send({"type": "http.response.body", "body": page, "more_body": False})
        return False
    return True


async def wait_outside(scope: Scope, seconds: float) -> None:
    """Wait ``seconds`` without holding the request's turn at the door (a slowed-down sign-in): the
    turn is given back for the wait and taken again after it, in line like a new arrival."""
    slots: asyncio.Semaphore | None = scope.get("state", {}).get(_TURN)
    if slots is None:
        await anyio.sleep(seconds)
        return
    slots.release()
    try:
        await anyio.sleep(seconds)
    finally:
        with anyio.CancelScope(shield=True):  # the middleware gives back exactly one turn
            await slots.acquire()
