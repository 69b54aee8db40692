"""``/admin/ops``: the shop seen from inside during a drop. The page's live part is read again
every 2 seconds (an HTMX poll of the same address answers with that part alone); without
JavaScript the page reloads itself."""

from __future__ import annotations

from litestar import get
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template

from app.admin.ops import ops_report
from app.admin.ops_rules import age_seconds, split_age
from app.web.pages import AdminPages
from app.web.params import AppServices, DbSession, Query
from app.web.templating import page


class AdminOpsController(AdminPages):
    path = "/admin/ops"

    @get("/", name="admin_ops")
    async def index(self, request: HTMXRequest, db: DbSession, services: AppServices, seen: Query = None) -> Template:
        report = await ops_report(db, services.ops)
        polled = bool(request.htmx) and not request.htmx.boosted
        # The summary is sent to the page's live region again only when what it says has changed.
        context = {
            "report": report,
            "announce": polled and report.summary.key != seen,
            "split_age": split_age,
            "age_seconds": age_seconds,
        }
        return page(request, "admin/ops.html", context, fragment="admin/_ops_live.html")
