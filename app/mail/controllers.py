"""``/dev/mail``: the mail outbox as a mailbox, newest first, for trying the shop on one machine.
Mounted only in the embedded default or with DEBUG (``app.asgi``): anywhere else it is a 404."""

from __future__ import annotations

import re

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.service import outbox_page
from app.web.pages import list_page

_LINK = re.compile(r"https?://\S+")


def links(body: str) -> list[str]:
    """The addresses a mail's text gives, to follow them from the page."""
    return _LINK.findall(body)


async def mailbox(db: AsyncSession, number: int, size: int) -> dict[str, object]:
    return {"page": await outbox_page(db, number, size), "links": links}


class DevMailController(Controller):
    path = "/dev/mail"

    @get("/", name="dev_mail")
    async def index(
        self, request: HTMXRequest, db: NamedDependency[AsyncSession], page: FromQuery[str | None] = None
    ) -> Template:
        return await list_page(request, "mail/dev_mail.html", mailbox, db, page=page)
