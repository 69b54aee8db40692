"""The member's inbox: the list (newest first, paginated), opening a notice (marks it read and
follows its link), marking everything read, and the live badge stream."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import current_language
from app.live.hub import html_for
from app.models.members import Member
from app.notifications.service import channel_for, inbox, mark_read, open_notice
from app.web.forms import read_form
from app.web.pages import MemberPages, member_list
from app.web.services import Services


async def inbox_page(db: AsyncSession, member_id: int, number: int, size: int) -> dict[str, Any]:
    return {"page": await inbox(db, member_id, number, size)}


class NotificationController(MemberPages):
    path = "/me/notifications"

    index = member_list("notifications", "notifications/index.html", inbox_page)

    @post("/{notification_id:int}/open", name="notification_open")
    async def open(
        self,
        request: HTMXRequest,
        notification_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Redirect:
        await read_form(request)
        return Redirect(await open_notice(db, member.id, notification_id), status_code=303)

    @post("/read", name="notifications_read")
    async def read_all(
        self, request: HTMXRequest, member: NamedDependency[Member], db: NamedDependency[AsyncSession]
    ) -> Redirect:
        await read_form(request)
        await mark_read(db, member.id)
        return Redirect("/me/notifications", status_code=303)

    @get("/events", name="notification_events")
    async def events(self, member: NamedDependency[Member], services: NamedDependency[Services]) -> ServerSentEvent:
        """The unread count, now and whenever it changes."""
        hub, streams, member_id = services.hubs["member"], services.streams, member.id
        language = current_language()

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            async with streams.subscription(channel_for(member_id)) as subscriber:
                current = await hub.current(member_id)
                if current is not None:
                    yield ServerSentEventMessage(event="badge", data=current)
                async for raw in subscriber.iter_events():
                    yield ServerSentEventMessage(event="badge", data=html_for(json.loads(raw), language))

        return streams.events(stream())
