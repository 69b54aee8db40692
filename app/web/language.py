"""The header's language switch: ``POST /language`` sets the ``lang`` cookie (and the member's
own setting, when signed in) and goes back to the page it was pressed on. ``GET /language`` is the
same choice as a page, for a browser that refreshes after the post."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.controllers import Accounts, provide_accounts
from app.accounts.identity import current_member
from app.accounts.rules import safe_next_url
from app.core.i18n import LANGUAGES
from app.web.forms import read_form
from app.web.locale import LANGUAGE_COOKIE, LANGUAGE_COOKIE_SECONDS
from app.web.params import Query
from app.web.templating import page


@get("/language", name="language")
async def language_page(request: HTMXRequest, next: Query = None) -> Template:
    return page(request, "language.html", {"next": safe_next_url(next)})


@post("/language", name="language_set", dependencies={"accounts": Provide(provide_accounts)})
async def set_language(request: HTMXRequest, accounts: Accounts) -> Response[None]:
    form = await read_form(request)
    language = form.get("language", "")
    target = safe_next_url(form.get("next"))
    if language not in LANGUAGES:  # a forged choice changes nothing
        return Redirect(target, status_code=303)
    if (member := await current_member(request)) is not None:
        await accounts.set_language(member, language)
    request.scope.setdefault("state", {})["smore_language"] = language
    response = Redirect(target, status_code=303)
    response.cookies.append(
        Cookie(key=LANGUAGE_COOKIE, value=language, max_age=LANGUAGE_COOKIE_SECONDS, samesite="lax", httponly=True)
    )
    return response
