"""A waiting room's line: a member joins it, then follows their place on a page kept current by
the line's live stream (or, without JavaScript, reloading itself) and, once let in, buys from it
with their admission. A join costs a small proof that a person is asking (``app/web/proof.py``)
and is limited per client address (``LINE_JOIN_LIMIT``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.types import ASGIApp

from app.accounts.limits import LINE_JOIN_LIMIT
from app.core.errors import DomainError
from app.core.i18n import Msg, _, current_language
from app.drops.waiting_room import Standing, WaitingRoom
from app.live.hub import encode_shared
from app.live.hubs import line_channel
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.members import Member
from app.web.forms import read_form
from app.web.pages import MemberPages
from app.web.params import AppServices, DbSession, SignedIn
from app.web.proof import ProofRefused, Wait
from app.web.templating import page

Room = NamedDependency[WaitingRoom]
NOT_IN_LINE = Msg("You are not in this line: join it from its page first.")


async def provide_room(db: DbSession, services: AppServices) -> WaitingRoom:
    return WaitingRoom(db, services.settings)


def line_subject(product_id: int) -> str:
    """What a proof lets its member do here: join this product's line."""
    return f"line:{product_id}"


async def _line_page(
    request: HTMXRequest,
    room: WaitingRoom,
    member: Member,
    product: Product,
    message: str | None = None,
    status_code: int = 200,
    wait: Wait | None = None,
) -> Template:
    now = utcnow()
    context = _box(room, product, await room.standing(member, product, now), now) | {
        "opens_at": room.opens_at(product),
        "can_join": room.can_join(member, product),
        "message": message,
        "wait": wait,
    }
    return page(request, "drops/line.html", context, status_code=status_code)


def _box(room: WaitingRoom, product: Product, standing: Standing | None, now: datetime) -> dict[str, Any]:
    """What the member's own part of the line page (``drops/_line_box.html``) is made from."""
    return {"p": product, "standing": standing, "now": now, "admission_minutes": room.settings.admission_minutes}


class LineController(MemberPages):
    path = "/products"
    dependencies = MemberPages.dependencies | {"room": Provide(provide_room)}

    @get("/{product_id:int}/line", name="product_line")
    async def show(self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, room: Room) -> Template:
        """The member's place in the line, or a button to join it."""
        return await _line_page(request, room, member, await room.product(product_id))

    @post("/{product_id:int}/line", name="product_line_join", middleware=[LINE_JOIN_LIMIT])
    async def join(
        self, request: HTMXRequest, product_id: FromPath[int], member: SignedIn, room: Room, services: AppServices
    ) -> Template | Redirect:
        form = await read_form(request)
        product = await room.product(product_id)
        now = utcnow()
        try:
            room.check_join(member, product, now)
            await services.proofs.check(form, member.id, line_subject(product_id), now)
            await room.join(member, product, now)
        except ProofRefused as exc:
            return await _line_page(request, room, member, product, exc.message, exc.status_code, exc.wait)
        except DomainError as exc:
            return await _line_page(request, room, member, product, exc.message, status_code=409)
        return Redirect(f"/products/{product_id}/line", status_code=303)

    @get("/{product_id:int}/line/box", name="product_line_box")
    async def box(self, product_id: FromPath[int], member: SignedIn, room: Room) -> Template:
        """The member's own part of the line page alone (their place, the wait, from their turn the
        Buy form with their admission): what the live page fetches when their phase changes."""
        product = await room.product(product_id)
        now = utcnow()
        standing = await room.standing(member, product, now)
        if standing is None:
            raise PermissionDeniedException(str(NOT_IN_LINE))
        return Template(template_name="drops/_line_box.html", context=_box(room, product, standing, now))

    @get("/{product_id:int}/line/events", name="product_line_events", opt={"live_stream": True})
    async def events(self, product_id: FromPath[int], member: SignedIn, room: Room, services: AppServices) -> ASGIApp:
        """The line's shared state (places let in, members in it, units gone, sale over), the
        current one first, for the members in the line; each message is encoded once per process
        and language and written to every viewer of the room (``app.live.fanout``). The member's
        own place is on their page, which works out the rest."""
        product = await room.product(product_id)
        if await room.place_of(member.id, product.id) is None:
            raise PermissionDeniedException(str(NOT_IN_LINE))
        hub, streams = services.hubs["line"], services.streams
        viewer = await streams.watch(line_channel(product.id), encode_shared, current_language())
        try:
            viewer.reading()
            current = await hub.current_in(room.db, product.id)  # a reconnecting page gets the state first
            if current is None:  # no longer sold through a waiting room
                raise NotFoundException(_("This product is not sold through a waiting room."))
        except BaseException:
            viewer.end()
            raise
        return streams.stream(viewer, [ServerSentEventMessage(event="line", data=current).encode()])
