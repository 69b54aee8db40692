"""Buy, the live stock stream, and the member's purchase rights."""

from __future__ import annotations

import dataclasses
import math
import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Response, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.types import ASGIApp

from app.accounts.identity import current_member, session_generation
from app.core.errors import DomainError
from app.core.i18n import Msg, _, current_language, ngettext
from app.drops import admissions, purchases
from app.drops.purchases import HeldRight, Pressed
from app.drops.rules import Outcome, PressResult
from app.drops.service import KeyConflict, Press
from app.drops.waiting_room import WaitingRoom
from app.live.hub import channel_for, encode_shared
from app.models.base import utcnow
from app.models.drops import PurchaseRight, RightStatus
from app.web.forms import read_form
from app.web.pages import MemberPages, flash_redirect, refuse_signed_out, session_member
from app.web.params import AppServices, DbSession, SignedIn
from app.web.templating import StampedFragment, page

MESSAGES = {
    Outcome.SOLD_OUT: Msg("Sold out. Units that are not paid in time come back, so keep this page open."),
    Outcome.LIMIT: Msg("You already hold your limit for this product."),
    Outcome.NOT_ON_SALE: Msg("Not on sale yet. The Buy button works from the start time."),
    Outcome.ENDED: Msg("The fixed-price sale has ended."),
    Outcome.OWN_PRODUCT: Msg("This is your product: sellers cannot buy their own products."),
    Outcome.DRAW: Msg("This product is sold by a draw: its units go to the winners, not to Buy."),
    Outcome.JOIN_LINE: Msg("This sale lets members in from its waiting room: join the line to buy."),
}
# Refusals that send the shopper somewhere else to buy: answered 409 with the way there.
_ELSEWHERE = {Outcome.DRAW: "/products/{id}", Outcome.JOIN_LINE: "/products/{id}/line"}


# The refusals a crowd mostly gets, stamped from the template rendered once per language and outcome.
_STAMPED = frozenset({Outcome.SOLD_OUT, Outcome.LIMIT, Outcome.NOT_ON_SALE, Outcome.ENDED})
_REFUSAL = StampedFragment("drops/_buy_result.html", ("product_id", "key"))


def new_key() -> str:
    return uuid.uuid4().hex


class DropController(Controller):
    path = "/products"

    @post("/{product_id:int}/buy", name="product_buy", opt={"loads_member": False, "quiet_access_log": True})
    async def buy(
        self, request: HTMXRequest, product_id: FromPath[int], services: AppServices
    ) -> Template | Redirect | Response[str]:
        # The member is not re-loaded here: the press's own transaction checks their standing, so
        # the crowd the gate answers costs no database work at all.
        member_id = session_member(request)
        form = await read_form(request)
        press = Press(product_id, member_id, form.get("key", ""), session_generation(request))
        pressed, message, status_code = await _press(request, services, press, form.get("admission", ""))
        result = pressed.result if pressed else None
        right = pressed.right if pressed else None
        if not (request.htmx and not request.htmx.boosted):
            kept = right is not None and right.status in (RightStatus.HELD, RightStatus.PAID)
            elsewhere = _ELSEWHERE.get(result.outcome) if result else None
            url = "/me/purchases" if right else (elsewhere or "/products/{id}").format(id=product_id)
            return flash_redirect(request, _flash_text(result, message, right), "success" if kept else "error", url)
        if right is None and result is not None and result.outcome in _STAMPED:  # most of a crowd's answers
            fixed = {"result": result, "message": message, "right": None}
            values = {"product_id": str(product_id), "key": new_key()}
            html = _REFUSAL.render(request, (result.outcome, message), fixed, values)
            return Response(html, media_type=MediaType.HTML, status_code=status_code)
        context: dict[str, Any] = {"result": result, "message": message, "right": right, "product_id": product_id}
        context |= {"key": new_key(), "now": utcnow()}
        return Template(
            template_name="drops/_buy_result.html", context=context, status_code=status_code, media_type=MediaType.HTML
        )

    @get("/{product_id:int}/buy-box", name="product_buy_box")
    async def buy_box(
        self, request: HTMXRequest, product_id: FromPath[int], db: DbSession, services: AppServices
    ) -> Template:
        """The buy box as the product page shows it to this viewer (never Buy for the seller; in a
        waiting room, Buy only with a live admission)."""
        product = await purchases.public_product(db, product_id)
        member = await current_member(request)
        box = await purchases.buy_box(db, product, member.id if member else None)
        now = utcnow()
        line = await WaitingRoom(db, services.settings).offer(product, member, now)
        context = {"buy": box, "line": line, "product_id": product_id, "key": new_key(), "now": now}
        return Template(template_name="drops/_buy_box.html", context=context)

    @get("/{product_id:int}/events", name="product_events", opt={"live_stream": True})
    async def events(self, product_id: FromPath[int], services: AppServices) -> ASGIApp:
        """The stock and state of the product, the current one first; each message is encoded
        once per process and language and written to every viewer of the room (``app.live.fanout``)."""
        live, streams = services.hubs["product"], services.streams
        language = current_language()
        viewer = await streams.watch(channel_for(product_id), encode_shared, language)
        try:
            viewer.reading()
            current = await live.current(product_id)  # a reconnecting client gets the state first
            if current is None:
                raise NotFoundException(_("This product does not exist."))
        except BaseException:
            viewer.end()
            raise
        return streams.stream(viewer, [ServerSentEventMessage(event="stock", data=current).encode()])


async def _press(
    request: HTMXRequest, services: AppServices, press: Press, admission: str
) -> tuple[Pressed | None, str, int]:
    """The press's answer, what it says and its status code. A press that carries an admission
    goes through the waiting room's door first, which spends it or answers without pressing."""
    if admission:
        door = await admissions.admit_press(
            services.database, services.settings, admission, press.member_id, press.product_id, press.key, utcnow()
        )
        if door.refusal is not None:
            return Pressed(PressResult(Outcome.JOIN_LINE)), str(door.refusal), 409
        press = dataclasses.replace(press, admitted=door.admitted)
    try:
        pressed = await purchases.press(services.drops, press)
    except KeyConflict as exc:
        return None, exc.message, 409
    except DomainError as exc:
        return None, exc.message, 400
    if pressed.result.outcome is Outcome.SIGNED_OUT:
        await refuse_signed_out(request)
    outcome = pressed.result.outcome
    status_code = 403 if outcome is Outcome.OWN_PRODUCT else 409 if outcome in _ELSEWHERE else 200
    return pressed, str(MESSAGES.get(outcome, "")), status_code


def _flash_text(result: PressResult | None, message: str, right: PurchaseRight | HeldRight | None) -> str:
    if right is None:
        return message
    if right.status is RightStatus.PAID:
        return _("This unit is yours and paid.")
    if right.status is RightStatus.EXPIRED:
        return _("This purchase right expired: it was not paid in time.")
    if right.status is RightStatus.CANCELLED:
        return _("This purchase right was given up or its payment failed.")
    minutes = max(1, math.ceil((right.expires_at - utcnow()).total_seconds() / 60))
    return ngettext(
        "It is yours! Pay within %(num)d minute to keep it.",
        "It is yours! Pay within %(num)d minutes to keep it.",
        minutes,
    )


class MyPurchasesController(MemberPages):
    path = "/me/purchases"

    @get("/", name="my_purchases")
    async def index(self, request: HTMXRequest, member: SignedIn, db: DbSession) -> Template:
        rows = await purchases.my_purchases(db, member.id)
        return page(request, "drops/my_purchases.html", {"rows": rows, "now": utcnow()})

    @post("/{right_id:int}/cancel", name="my_purchase_cancel")
    async def cancel(self, request: HTMXRequest, right_id: FromPath[int], member: SignedIn, db: DbSession) -> Redirect:
        await read_form(request)
        outcome = await purchases.give_up(db, member.id, right_id)
        return flash_redirect(request, outcome.message, "success" if outcome.done else "error", "/me/purchases")
