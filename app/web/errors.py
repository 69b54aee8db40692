"""HTML error pages. Anonymous visitors on a protected page are sent to the login page."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, NotAuthorizedException, NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy import exc as sa_exc

from app.core.errors import DomainError, NotFound
from app.core.i18n import Msg
from app.db import connection_shortage, write_contention

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


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if status == 403 and "CSRF" in detail:
        detail = "Your form had expired or came from another site. Reload the page and try again."
    if status == 429 and detail == "Too Many Requests":  # a rate limit (RateLimit-Reset says how long)
        detail = "Too many requests from your network. Nothing was done: please wait a while and try again."
    if _wants_json(request):
        return Response(content={"status_code": status, "detail": detail}, status_code=status)
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/error.html"
    context = {"status": status, "title": _TITLES.get(status, Msg("Error")), "detail": detail}
    return Template(template_name=template, context=context, status_code=status, headers=exc.headers or None)


def server_error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _wants_json(request):
        return Response(content={"status_code": 500, "detail": "Internal error"}, status_code=500)
    return Template(
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
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = "The shop is very busy. Nothing was saved: please try again in a few seconds."
    if _wants_json(request):
        return Response(content={"status_code": 503, "detail": detail}, status_code=503, headers=headers)
    context = {"status": 503, "title": _TITLES[503], "detail": detail}
    return Template(template_name="errors/error.html", context=context, status_code=503, headers=headers)


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
    HTTPException: http_error_page,
    HTTP_500_INTERNAL_SERVER_ERROR: server_error_page,
    Exception: server_error_page,
}
