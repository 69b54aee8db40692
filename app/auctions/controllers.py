"""Auction pages: the bidding page with its live stream, placing a bid, giving up a won unit, the
member's bids, and the seller's auctions with their results."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from litestar import Controller, get, post
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.response.sse import ServerSentEventMessage
from litestar.types import ASGIApp

from app.accounts.guards import requires_login
from app.accounts.identity import session_generation, session_member_id
from app.auctions import queries, service, view
from app.auctions.bidding import BidRequest
from app.auctions.queries import bidding_context
from app.auctions.rules import AuctionStatus, BidRefused, parse_amount
from app.core.errors import DomainError
from app.core.i18n import DEFAULT_ZONE, current_language, current_zone_name
from app.core.scheduling import Scheduler
from app.db import request_session
from app.live.hub import html_for, touch_kind
from app.live.hubs import auction_channel
from app.web.forms import read_form
from app.web.pages import MemberPages, SellerPages, flash_redirect, member_list, refuse_signed_out, session_member
from app.web.params import AppServices, DbSession, SignedIn
from app.web.templating import page as render


@functools.lru_cache(maxsize=64)
def shared_state(raw: str | bytes, language: str) -> tuple[bytes, dict[str, Any]]:
    """A hub message as the ready "state" event every viewer in ``language`` gets, and its fields
    (read only)."""
    message = json.loads(raw)
    return ServerSentEventMessage(event="state", data=html_for(message, language)).encode(), message


def encode_state(raw: str | bytes, language: str) -> bytes:
    """The shared "state" event of a hub message in ``language``."""
    return shared_state(raw, language)[0]


class AuctionController(Controller):
    path = "/auctions"

    @get("/{auction_id:int}", name="auction")
    async def detail(self, request: HTMXRequest, auction_id: FromPath[int], db: DbSession) -> Template:
        context = await queries.bidding_page(db, auction_id, session_member_id(request))
        context |= {"key": new_key(), "errors": {}, "form": {}}
        return render(request, "auctions/detail.html", context)

    @post("/{auction_id:int}/bids", name="auction_bid", opt={"loads_member": False, "quiet_access_log": True})
    async def bid(self, request: HTMXRequest, auction_id: FromPath[int], services: AppServices) -> Template | Redirect:
        # No request session unless the answer needs one (a form error): a crowd of bids costs no
        # database work here; the batch that decides them does it all.
        member_id = session_member(request, "Please sign in to bid.")
        form = await read_form(request)
        errors: dict[str, str] = {}
        amount = maximum = None
        try:
            amount = parse_amount(form["amount"]) if form.get("amount", "").strip() else None
        except BidRefused as exc:
            errors["amount"] = exc.message
        try:
            maximum = parse_amount(form["maximum"]) if form.get("maximum", "").strip() else None
        except BidRefused as exc:
            errors["maximum"] = exc.message
        if not errors and amount is None and maximum is None:
            errors["amount"] = "Enter a bid, or a maximum for proxy bidding."
        answer = None
        if not errors:
            try:
                answer = await services.bids.place(
                    BidRequest(
                        auction_id, member_id, amount, maximum, form.get("key") or None, session_generation(request)
                    )
                )
            except DomainError as exc:
                errors["amount"] = exc.message
            else:
                if answer.signed_out:
                    await refuse_signed_out(request)
                if answer.status is None:
                    raise NotFoundException("This auction does not exist.")
                if not answer.accepted:
                    errors["amount"] = answer.message
        status_code = 200 if answer is not None and answer.accepted else 422
        if not (request.htmx and not request.htmx.boosted):
            if errors:
                flash(request, errors.get("amount") or errors.get("maximum", ""), "error")
            else:
                assert answer is not None
                flash(request, answer.message, "success")
            return Redirect(f"/auctions/{auction_id}", status_code=303)
        if answer is not None:  # the batch that decided the bid knows where things stand: no query
            where = view.position(
                member_id,
                list(answer.winners),
                answer.minimum or 0,
                answer.status or "",
                answer.standing,
                answer.maximum,
            )
            context: dict[str, Any] = {
                "state": {"auction_id": auction_id, "status": answer.status, "minimum": answer.minimum},
                "position": where,
            }
        else:
            context = await bidding_context(request_session(request), auction_id, member_id)
        context |= {
            "key": new_key() if answer is not None and answer.accepted else form.get("key") or new_key(),
            "errors": errors,
            "form": {} if not errors else form,
            "answer": answer,
        }
        return Template(
            template_name="auctions/_bid_box.html", context=context, status_code=status_code, media_type=MediaType.HTML
        )

    @get("/{auction_id:int}/events", name="auction_events", opt={"live_stream": True})
    async def events(self, request: HTMXRequest, auction_id: FromPath[int], services: AppServices) -> ASGIApp:
        """Every viewer gets the shared state (top bids, minimum, end) and a signed-in one their own
        position; a (re)connecting client gets the current state first. The stream holds no
        database session between messages. The shared event is decoded and encoded once per
        process, message and language (not once per viewer), and written to each viewer of the
        process's room (``app.live.fanout``); only a signed-in viewer or one with a zone of their
        own has events rendered for them."""
        hub, streams, database = services.hubs["auction"], services.streams, services.database
        member_id = session_member_id(request)
        language = current_language()
        own_zone = current_zone_name() != DEFAULT_ZONE  # rare: one read per message for this viewer
        assert request.app.template_engine is not None  # the app is built with its templates
        templates = request.app.template_engine.engine
        position_template = templates.get_template("auctions/_position.html")
        box_template = templates.get_template("auctions/_bid_box.html")
        mine: int | None = None  # the member's own bid, read only while it is unknown
        looked_at = 0.0  # ... and then at most once a second

        async def messages(raw: str | bytes) -> list[bytes]:
            nonlocal mine, looked_at
            state, message = shared_state(raw, language)
            if own_zone:  # the shared fragment shows the shop's zone: this viewer gets theirs
                state = ServerSentEventMessage(event="state", data=await hub.current(auction_id) or "").encode()
            out = [state]
            if member_id is None:
                return out
            winners = message["winners"]
            if message["status"] != AuctionStatus.LIVE.value:
                # closed: the member's result decides (rare messages, one query each), and
                # the bid box turns into the result with its Pay / Give up links
                context = await queries.closed_box(database, auction_id, member_id)
                context |= {"key": "", "errors": {}, "form": {}, "answer": None}
                out.append(ServerSentEventMessage(event="closed", data=box_template.render(**context)).encode())
                return out
            amount = next((a for m, a in winners if m == member_id), None)
            if amount is not None:
                mine = amount
            elif mine is None and time.monotonic() - looked_at >= 1.0:
                looked_at = time.monotonic()  # no bid known yet: look (once known, it is kept)
                mine = await queries.standing_amount(database, auction_id, member_id)
            where = view.position(member_id, winners, message["minimum"], message["status"], mine)
            out.append(ServerSentEventMessage(event="position", data=position_template.render(position=where)).encode())
            return out

        own = messages if member_id is not None or own_zone else None
        viewer = await streams.watch(auction_channel(auction_id), encode_state, language, own)
        try:
            viewer.reading()
            current = await hub.message(auction_id)
            if current is None:
                raise NotFoundException("This auction does not exist.")
            first = await messages(current)
        except BaseException:
            viewer.end()
            raise
        return streams.stream(viewer, first)

    @get("/{auction_id:int}/give-up", name="auction_give_up_confirm", guards=[requires_login])
    async def give_up_confirm(self, request: HTMXRequest, auction_id: FromPath[int], db: DbSession) -> Template:
        context = await queries.give_up_page(db, auction_id, session_member_id(request))
        return render(request, "auctions/give_up.html", context)

    @post("/{auction_id:int}/give-up", name="auction_give_up", guards=[requires_login])
    async def give_up(
        self, request: HTMXRequest, auction_id: FromPath[int], db: DbSession, services: AppServices
    ) -> Redirect:
        await read_form(request)
        pay_seconds = services.settings.auction_pay_seconds
        refusal = await queries.give_up(db, auction_id, session_member_id(request), pay_seconds=pay_seconds)
        if refusal is None:
            refusal, kind = "You gave up the unit; it passes to the next bidder.", "success"
        else:
            kind = "error"
        return flash_redirect(request, refusal, kind, f"/auctions/{auction_id}")


class ProductAuctionController(Controller):
    path = "/products"

    @get("/{product_id:int}/auction", name="product_auction")
    async def of_product(self, product_id: FromPath[int], db: DbSession) -> Redirect:
        auction = await service.auction_of_product(db, product_id)
        if auction is None:
            raise NotFoundException("This product has no auction (yet).")
        return Redirect(f"/auctions/{auction.id}", status_code=303)


class MyBidsController(MemberPages):
    path = "/me/bids"

    index = member_list("my_bids", "auctions/my_bids.html", queries.my_bids)


class SellerAuctionController(SellerPages):
    path = "/seller/auctions"

    index = member_list("seller_auctions", "auctions/seller_index.html", queries.seller_auctions)

    @get("/{auction_id:int}", name="seller_auction")
    async def detail(
        self, request: HTMXRequest, auction_id: FromPath[int], member: SignedIn, db: DbSession
    ) -> Template:
        context = await queries.seller_auction(db, member.id, auction_id)
        return render(request, "auctions/seller_detail.html", context)


def new_key() -> str:
    import uuid

    return uuid.uuid4().hex


def after_batch(auction_id: int, decided: Any, scheduler: Scheduler | None = None) -> None:
    """After a batch of bids commits: every viewer hears, and a pushed-back end moves the close
    (without a scheduler, the close message of the old end finds the end moved and comes back)."""
    touch_kind("auction", auction_id)
    if decided.extended and decided.ends_at is not None and scheduler is not None:
        scheduler.close_auction(auction_id, decided.ends_at)
