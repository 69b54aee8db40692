"""Buy, the live stock stream, and the member's purchase rights."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import provide_member, requires_login
from app.accounts.identity import current_member, session_member_id
from app.core.errors import DomainError
from app.drops.gate import gate_for
from app.drops.rules import Outcome, PressResult
from app.drops.service import DropService, KeyConflict, Press
from app.drops.stock import release_right
from app.live import hub
from app.live.hub import channel_for
from app.live.streams import LiveStreams
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.drops import PurchaseRight, RightStatus, StockReason
from app.models.members import Member
from app.payments.policies import current_policy, give_up_refusal
from app.web.forms import read_form
from app.web.templating import page

MESSAGES = {
    Outcome.SOLD_OUT: "Sold out. Units that are not paid in time come back, so keep this page open.",
    Outcome.LIMIT: "You already hold your limit for this product.",
    Outcome.NOT_ON_SALE: "Not on sale yet. The Buy button works from the start time.",
    Outcome.ENDED: "The fixed-price sale has ended.",
}


def new_key() -> str:
    return uuid.uuid4().hex


def drop_service(request: HTMXRequest) -> DropService:
    settings = request.app.state.settings
    return DropService(request.app.state.database, gate_for(settings), settings.purchase_hold_seconds)


class DropController(Controller):
    path = "/products"

    @post("/{product_id:int}/buy", name="product_buy", opt={"loads_member": False})
    async def buy(self, request: HTMXRequest, product_id: FromPath[int]) -> Template | Redirect:
        # The member is not re-loaded here: the press's own transaction checks their standing, so
        # the crowd the gate answers costs no database work at all.
        member_id = session_member_id(request)
        if member_id is None:
            raise NotAuthorizedException("Please sign in to continue.")
        form = await read_form(request)
        key = form.get("key", "")
        status_code = 200
        right: PurchaseRight | HeldRight | None = None
        try:
            result = await drop_service(request).press(Press(product_id, member_id, key))
        except KeyConflict as exc:
            result, message, status_code = None, exc.message, 409
        except DomainError as exc:
            result, message, status_code = None, exc.message, 400
        else:
            if result.outcome is Outcome.SIGNED_OUT:
                await current_member(request)  # signs the session out and tells them why
                raise NotAuthorizedException("Please sign in to continue.")
            message = MESSAGES.get(result.outcome, "")
            if result.outcome is Outcome.GRANTED:
                hub.touch(product_id)
                if result.expires_at is not None and not result.replayed:
                    right = HeldRight(result.right_id, result.expires_at)
                else:  # a replay: the right as it stands now (held, paid, expired, given up)
                    async with request.app.state.database.transaction() as db:
                        right = await db.get(PurchaseRight, result.right_id)
        if not (request.htmx and not request.htmx.boosted):
            kept = right is not None and right.status in (RightStatus.HELD, RightStatus.PAID)
            flash(request, _flash_text(result, message, right), "success" if kept else "error")
            return Redirect("/me/purchases" if right else f"/products/{product_id}", status_code=303)
        context = {"result": result, "message": message, "right": right, "product_id": product_id}
        context.update(key=new_key(), now=utcnow())
        return Template(template_name="drops/_buy_result.html", context=context, status_code=status_code)

    @get("/{product_id:int}/buy-box", name="product_buy_box")
    async def buy_box(self, request: HTMXRequest, product_id: FromPath[int]) -> Template:
        return Template(template_name="drops/_buy_box.html", context={"product_id": product_id, "key": new_key()})

    @get("/{product_id:int}/events", name="product_events")
    async def events(self, request: HTMXRequest, product_id: FromPath[int]) -> ServerSentEvent:
        live = request.app.state.live
        streams: LiveStreams = request.app.state.streams
        if await live.current(product_id) is None:
            raise NotFoundException("This product does not exist.")

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            async with streams.subscription(channel_for(product_id)) as subscriber:
                current = await live.current(product_id)  # a reconnecting client gets the state first
                if current is None:
                    return
                yield ServerSentEventMessage(event="stock", data=current)
                async for raw in subscriber.iter_events():
                    message = json.loads(raw)
                    yield ServerSentEventMessage(event=message["event"], data=message["html"])

        return ServerSentEvent(stream())


@dataclass(frozen=True)
class HeldRight:
    """What the result fragment shows of a right the press has just been granted."""

    id: int | None
    expires_at: datetime
    status: RightStatus = RightStatus.HELD


def _flash_text(result: PressResult | None, message: str, right: PurchaseRight | HeldRight | None) -> str:
    if right is None:
        return message
    return {
        RightStatus.PAID: "This unit is yours and paid.",
        RightStatus.EXPIRED: "This purchase right expired: it was not paid in time.",
        RightStatus.CANCELLED: "This purchase right was given up or its payment failed.",
    }.get(right.status, f"It is yours! Pay within {_minutes_left(right.expires_at)} to keep it.")


def _minutes_left(deadline: datetime) -> str:
    minutes = max(1, math.ceil((deadline - utcnow()).total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class MyPurchasesController(Controller):
    path = "/me/purchases"
    guards = [requires_login]
    dependencies = {"member": Provide(provide_member)}

    @get("/", name="my_purchases")
    async def index(
        self, request: HTMXRequest, member: NamedDependency[Member], db: NamedDependency[AsyncSession]
    ) -> Template:
        rows = (
            await db.execute(
                select(PurchaseRight, Product)
                .join(Product, Product.id == PurchaseRight.product_id)
                .where(PurchaseRight.member_id == member.id)
                .order_by(PurchaseRight.id.desc())
                .limit(200)
            )
        ).all()
        return page(request, "drops/my_purchases.html", {"rows": rows, "now": utcnow()})

    @post("/{right_id:int}/cancel", name="my_purchase_cancel")
    async def cancel(
        self,
        request: HTMXRequest,
        right_id: FromPath[int],
        member: NamedDependency[Member],
        db: NamedDependency[AsyncSession],
    ) -> Redirect:
        await read_form(request)
        right = await db.get(PurchaseRight, right_id)
        if right is None or right.member_id != member.id:
            raise NotFoundException("This purchase right does not exist.")
        refusal = give_up_refusal(await current_policy(db), right.expires_at, utcnow())
        if refusal is not None and right.status is RightStatus.HELD:
            flash(request, refusal, "error")
            return Redirect("/me/purchases", status_code=303)
        released = await release_right(db, right_id, RightStatus.CANCELLED, StockReason.CANCEL, actor_id=member.id)
        if released is None:
            flash(request, f"This right is already {right.status.value}.", "error")
        else:  # the edge commits; the gate's copy of the stock follows after the commit
            hub.touch(right.product_id)
            flash(request, "Cancelled. The unit went back on sale.", "success")
        return Redirect("/me/purchases", status_code=303)
