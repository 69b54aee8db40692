"""``GET /search``: the full page, or only the results fragment for HTMX (typing in the box and
changing a filter swap ``#results`` and push the URL, so every state stays shareable)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Litestar, get
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from app.catalog import public
from app.catalog import rules as category_rules
from app.catalog.lifecycle import LABELS, PUBLIC_STATUSES
from app.catalog.service import CategoryService
from app.models.catalog import ProductStatus
from app.search.backend import search_backend
from app.search.query import MAX_CHARS, SORTS, parse_params
from app.web.pagination import wanted
from app.web.params import AppServices, DbSession, Query
from app.web.templating import page as render

STATUS_OPTIONS = [(s.value, LABELS[s]) for s in ProductStatus if s in PUBLIC_STATUSES]


class SearchController(Controller):
    path = "/search"

    @get("/", name="search")
    async def search(
        self,
        request: HTMXRequest,
        db: DbSession,
        services: AppServices,
        q: Query = None,
        category: Query = None,
        status: Query = None,
        min_price: Query = None,
        max_price: Query = None,
        sort: Query = None,
        page: Query = None,
    ) -> Template:
        nodes = category_rules.walk(await CategoryService(db).tree())
        options = [(n.category.id, n.category.name, n.depth) for n in nodes]
        params = parse_params(
            q, category, status, min_price, max_price, sort, categories=frozenset(o[0] for o in options)
        )
        results = await search_backend(services.settings).search(db, params, *wanted(request, page))
        context: dict[str, Any] = {
            "params": params,
            "results": results,
            "page": results,
            "categories": options,
            "statuses": STATUS_OPTIONS,
            "sorts": SORTS,
            "max_chars": MAX_CHARS,
        } | public.template_helpers()
        # A history restore after a cache miss must get the whole page back.
        fragment = None if request.htmx.history_restore_request else "search/_results.html"
        response = render(request, "search/index.html", context, fragment=fragment)
        response.headers["Vary"] = "HX-Request"
        if request.htmx and fragment:
            # The address bar gets the tidy form of the search (no blank or ignored parameters).
            response.headers["HX-Push-Url"] = canonical_url(params.as_query_dict(), results.number)
        return response


def canonical_url(query: dict[str, str], page: int = 1) -> str:
    values = {k: v for k, v in query.items() if v}
    if page > 1:
        values["page"] = str(page)
    return "/search" + (f"?{urlencode(values)}" if values else "")


def open_search_index(app: Litestar) -> None:
    """Start-up hook: on SQLite the Whoosh index directory exists and the index is open before the
    first event (on PostgreSQL there is nothing to open)."""
    search_backend(app.state.settings).open()


def close_search_index(app: Litestar) -> None:
    search_backend(app.state.settings).close()
