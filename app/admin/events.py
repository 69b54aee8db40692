"""``/admin/events``: event handlers that keep failing (parked, or still retried) and a Retry
button that un-parks one so the relay sends its event to the queue again."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.admin.event_service import TABS, EventFailureService
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.numbers import parse_id
from app.web.forms import read_form
from app.web.pages import AdminPages, act, with_db
from app.web.pagination import wanted
from app.web.params import Query
from app.web.templating import page as render

Failures = NamedDependency[EventFailureService]


class AdminEventController(AdminPages):
    path = "/admin/events"
    dependencies = {"failures": with_db(EventFailureService)}

    @get("/", name="admin_events")
    async def index(self, request: HTMXRequest, failures: Failures, tab: Query = None, page: Query = None) -> Template:
        key = tab if tab in TABS else "parked"
        listing = await failures.listing(key, *wanted(request, page))
        context = {"tab": key, "tabs": TABS, "page": listing.page, "events": listing.events}
        return render(request, "admin/events.html", context)

    @post("/{event_id:str}/retry", name="admin_event_retry")
    async def retry(self, request: HTMXRequest, event_id: FromPath[str], failures: Failures) -> Redirect:
        form = await read_form(request)
        handler = form.get("handler", "")
        if not handler:
            raise NotFound(_("This failed event does not exist."))
        back = "/admin/events" + (f"?page={page}" if (page := parse_id(form.get("page"))) else "")
        # The relay sends the event once the un-parking has committed (a delivery that ran before
        # would still find the handler parked and skip it).
        retrying = failures.retry(event_id, handler)
        return await act(
            request,
            retrying,
            lambda e: _(
                "%(handler)s will run again for event %(event)s (%(topic)s).",
                handler=handler,
                event=event_id,
                topic=e.topic,
            ),
            back,
        )
