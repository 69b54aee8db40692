"""A waiting room's line: a member joins it, then follows their place on a page that refreshes
itself (no JavaScript needed) and, once let in, buys from it with their admission. A join costs a
small proof that a person is asking (``app/web/proof.py``) and is limited per client address
(``LINE_JOIN_LIMIT``)."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.limits import LINE_JOIN_LIMIT
from app.core.errors import DomainError
from app.drops.waiting_room import WaitingRoom
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.members import Member
from app.web.forms import read_form
from app.web.pages import MemberPages
from app.web.params import AppServices, DbSession, SignedIn
from app.web.proof import ProofRefused, Wait
from app.web.templating import page

Room = NamedDependency[WaitingRoom]


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
    context = {
        "p": product,
        "standing": await room.standing(member, product, now),
        "opens_at": room.opens_at(product),
        "can_join": room.can_join(member, product),
        "message": message,
        "wait": wait,
        "now": now,
        "admission_minutes": room.settings.admission_minutes,
    }
    return page(request, "drops/line.html", context, status_code=status_code)


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
