"""HTML error pages. Anonymous visitors on a protected page are sent to the login page.

An error page shows the header of whoever is signed in, even when the error came before the route
loaded the member (an unknown address, a wrong method, a refused CSRF token): the page loads the
session and the member itself first. A wrong method on an address that is a page or a form is no
dead end: a form post refreshed on a page's address shows that page, and a page asked of a form's
address shows the nearest page above it."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Receive, Scope, Send
from redis import exceptions as redis_exc
from sqlalchemy import exc as sa_exc

from app.accounts.identity import current_member
from app.core.errors import DomainError, NotFound
from app.core.i18n import Msg, text
from app.db import SESSION_STATE_KEY, connection_shortage, write_contention
from app.web.sessions import RotatingSessionBackend

log = logging.getLogger(__name__)

_TITLES = {
    400: Msg("Bad request"),
    403: Msg("Not allowed"),
    404: Msg("Not found"),
    405: Msg("Method not allowed"),
    413: Msg("Too large"),
    422: Msg("Check your input"),
    429: Msg("Too many requests"),
    500: Msg("Something went wrong"),
    503: Msg("Busy right now"),
}
ERROR_TITLE = Msg("Error")
CSRF_REFUSED = Msg("Your form had expired or came from another site. Reload the page and try again.")
RATE_LIMITED = Msg("Too many requests from your network. Nothing was done: please wait a while and try again.")
BUSY = Msg("The shop is very busy. Nothing was saved: please try again in a few seconds.")
WRONG_METHOD = Msg("This address does not take that kind of request. Go back to the page and try again.")
# Seconds a client is asked to wait before trying again when the database has no connection for it.
RETRY_AFTER_SECONDS = 5


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def login_redirect(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        # After signing in, go back to the page the form was on, never to a POST-only URL.
        referer = request.headers.get("referer", "")
        base = str(request.base_url).rstrip("/")
        target = referer[len(base) :] if referer.startswith(base + "/") else "/"
    location = f"/login?next={quote(target, safe='/')}"
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=204, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def _session_backend(request: Request[Any, Any, Any]) -> RotatingSessionBackend | None:
    """The app's session backend (the session middleware's), to read a session it did not load."""
    for middleware in request.app.middleware:
        backend = getattr(middleware, "kwargs", {}).get("backend")
        if isinstance(backend, RotatingSessionBackend):
            return backend
    return None


async def load_viewer(request: Request[Any, Any, Any]) -> None:
    """Load the signed-in member for an error page (the header shows them), reading the session
    when the error came before the session middleware ran. Read only: nothing is stored, no flash
    message is taken, and a database session opened here is closed here."""
    scope = request.scope
    state = scope.setdefault("state", {})
    if "smore_member" in state or request.url.path.startswith("/static/"):
        return
    had_db = SESSION_STATE_KEY in state
    had_session = isinstance(scope.get("session"), dict)
    try:
        if not had_session:
            backend = _session_backend(request)
            if backend is None:
                return
            session = dict(await backend.load_from_connection(request))
            session.pop("_messages", None)  # shown on the next page, as they would have been
            scope["session"] = session
        await current_member(request)
    except Exception:  # an error page never fails for want of its header
        log.warning("no member for the error page of %s", request.url.path, exc_info=True)
        state["smore_member"] = None
    finally:
        if not had_session:
            scope.pop("session", None)  # type: ignore[misc]
        if not had_db and (db := state.pop(SESSION_STATE_KEY, None)) is not None:
            # closed, not rolled back first: a rollback would expire the member the page shows
            await db.close()


class _ViewerFirst:
    """The ASGI answer of an :class:`ErrorPage`: the member is loaded, then the page rendered."""

    def __init__(self, page: ErrorPage, request: Request[Any, Any, Any], options: dict[str, Any]) -> None:
        self.page, self.request, self.options = page, request, options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await load_viewer(self.request)
        answer = Template.to_asgi_response(self.page, None, self.request, **self.options)
        await answer(scope, receive, send)


class ErrorPage(Template):
    """An error page that shows the signed-in header whatever went wrong and wherever."""

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **options: Any) -> Any:
        return _ViewerFirst(self, request, options)


def _answers(request: Request[Any, Any, Any], path: str, method: str) -> bool:
    """Whether the app has a route for ``method`` at ``path``."""
    try:
        request.app.asgi_router.handle_routing(path=path, method=method)
    except Exception:
        return False
    return True


def wrong_method(request: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[Any]:
    """A form post (refreshed, or resent) to a page's address shows the page; a page asked of a
    form's address shows the nearest page above it (``/me/password`` → ``/me``). Any other method
    is the 405 page."""
    path = request.url.path
    if request.method == "POST" and _answers(request, path, "GET"):
        return Redirect(path, status_code=303)
    if request.method in ("GET", "HEAD"):
        parts = path.rstrip("/").split("/")
        while len(parts) > 1:
            parts.pop()
            above = "/".join(parts) or "/"
            if _answers(request, above, "GET"):
                return Redirect(above, status_code=303)
    return http_error_page(request, exc)


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else text(exc.detail)
    if status == 403 and "CSRF" in detail:
        detail = str(CSRF_REFUSED)
    if status == 429 and detail == "Too Many Requests":  # a rate limit (RateLimit-Reset says how long)
        detail = str(RATE_LIMITED)
    if status == 405 and detail == "Method Not Allowed":
        detail = str(WRONG_METHOD)
    if _wants_json(request):
        return Response(content={"status_code": status, "detail": detail}, status_code=status)
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/error.html"
    context = {"status": status, "title": _TITLES.get(status, ERROR_TITLE), "detail": detail}
    return ErrorPage(template_name=template, context=context, status_code=status, headers=exc.headers or None)


def server_error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _wants_json(request):
        return Response(content={"status_code": 500, "detail": "Internal error"}, status_code=500)
    return ErrorPage(
        template_name="errors/500.html",
        context={"status": 500, "title": _TITLES[500], "detail": ""},
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def database_busy(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """No database connection within the pool's timeout (a crowd, a restart), or SQLite's one
    writer still busy after its timeout: 503 with ``Retry-After``, never a 500. Nothing was saved:
    the request's transaction rolls back."""
    if not connection_shortage(exc) and not write_contention(exc):
        return server_error_page(request, exc)
    log.warning("no database connection for %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return _busy(request)


def redis_busy(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Redis gave no connection (its pool's wait ran out under a crowd) or did not answer in time:
    503 with ``Retry-After``, never a 500; the request's transaction rolls back."""
    log.warning("no Redis connection for %s %s: %s", request.method, request.url.path, exc)
    return _busy(request)


def _busy(request: Request[Any, Any, Any]) -> Response[Any]:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = str(BUSY)
    if _wants_json(request):
        return Response(content={"status_code": 503, "detail": detail}, status_code=503, headers=headers)
    context = {"status": 503, "title": _TITLES[503], "detail": detail}
    return ErrorPage(template_name="errors/error.html", context=context, status_code=503, headers=headers)


def domain_not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    """A service's ``NotFound`` (unknown id, another member's or seller's record) is a 404 page."""
    return http_error_page(request, NotFoundException(exc.message))


def domain_refused(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A rule a handler did not turn into a form error: a 400 page that says which."""
    return http_error_page(request, ClientException(exc.message))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotFound: domain_not_found,
    DomainError: domain_refused,
    NotAuthorizedException: login_redirect,
    sa_exc.TimeoutError: database_busy,
    sa_exc.DBAPIError: database_busy,
    redis_exc.ConnectionError: redis_busy,
    redis_exc.TimeoutError: redis_busy,
    MethodNotAllowedException: wrong_method,
    HTTPException: http_error_page,
    HTTP_500_INTERNAL_SERVER_ERROR: server_error_page,
    Exception: server_error_page,
}
