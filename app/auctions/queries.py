"""What the auction pages show, and giving up a won unit: reads through the request's session (or,
for a live stream, a short transaction of its own), flushes, never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions import service, view
from app.auctions.rules import AuctionStatus
from app.catalog.markup import render_description
from app.catalog.queries import product_names
from app.core.errors import NotFound
from app.core.i18n import N_, _
from app.db import Database
from app.live.hub import touch_after_commit
from app.models.auctions import Auction, Bid, ResultStatus
from app.models.catalog import Product, ProductImage
from app.models.orders import Order
from app.web.pagination import Page, paginate

_UNKNOWN = N_("This auction does not exist.")
_NOTHING_TO_GIVE_UP = N_("You hold no unit of this auction to give up.")


async def auction(db: AsyncSession, auction_id: int) -> Auction:
    found = await db.get(Auction, auction_id)
    if found is None:
        raise NotFound(_(_UNKNOWN))
    return found


async def bidding_context(db: AsyncSession, auction_id: int, member_id: int | None) -> dict[str, Any]:
    """The live state, and where the member stands in it."""
    state = await view.auction_state(db, auction_id)
    if state is None:
        raise NotFound(_(_UNKNOWN))
    mine = await view.my_standing(db, auction_id, member_id)
    result = await view.my_result(db, auction_id, member_id)
    winners = [(t["member_id"], t["amount"]) for t in state["top"]]
    where = view.position(
        member_id,
        winners,
        state["minimum"],
        state["status"],
        mine.amount if mine else None,
        mine.max_amount if mine else None,
        result,
    )
    return {
        "state": state,
        "position": where,
        "member_id": member_id,
        "result": result,
        "result_labels": view.RESULT_LABELS,
    }


async def product_picture(db: AsyncSession, product_id: int) -> ProductImage | None:
    """The product's first picture (the auction page shows it), or None."""
    found = await db.execute(
        select(ProductImage).where(ProductImage.product_id == product_id).order_by(ProductImage.position).limit(1)
    )
    return found.scalar_one_or_none()


async def bidding_page(db: AsyncSession, auction_id: int, member_id: int | None) -> dict[str, Any]:
    """The bidding page: the auction, its product, the member's position, and the results once
    it has closed (the seller sees them, empty, while it runs)."""
    context = await bidding_context(db, auction_id, member_id)
    found = await auction(db, auction_id)
    context |= {"auction": found, "product": await db.get(Product, found.product_id)}
    result = context["result"]
    order = await db.get(Order, result.order_id) if result and result.order_id else None
    context["pay_by"] = order.pay_by if order is not None else None
    context["picture"] = await product_picture(db, found.product_id)
    product = context["product"]
    context["description"] = render_description(product.description) if product and product.description else ""
    if found.seller_id == member_id or found.status is not AuctionStatus.LIVE:
        context["results"] = await view.results(db, auction_id) if found.status is not AuctionStatus.LIVE else []
    return context


async def closed_box(database: Database, auction_id: int, member_id: int) -> dict[str, Any]:
    """For a stream (no request session): the member's bid box once the auction has closed."""
    async with database.transaction() as db:
        return await bidding_context(db, auction_id, member_id)


async def standing_amount(database: Database, auction_id: int, member_id: int) -> int | None:
    """For a stream (no request session): the member's standing bid, if any."""
    async with database.transaction() as db:
        standing = await view.my_standing(db, auction_id, member_id)
    return standing.amount if standing else None


async def give_up_page(db: AsyncSession, auction_id: int, member_id: int | None) -> dict[str, Any]:
    found = await auction(db, auction_id)
    result = await view.my_result(db, auction_id, member_id)
    if result is None or result.status is not ResultStatus.OFFERED:
        raise NotFound(_(_NOTHING_TO_GIVE_UP))
    return {"auction": found, "result": result, "product": await db.get(Product, found.product_id)}


async def give_up(db: AsyncSession, auction_id: int, member_id: int | None, *, pay_seconds: int) -> str | None:
    """The winner gives their unit up; it passes to the next bidder. Returns why not, if not."""
    await auction(db, auction_id)
    result = await view.my_result(db, auction_id, member_id)
    if result is None:
        raise NotFound(_(_NOTHING_TO_GIVE_UP))
    released = await service.release_offer(
        db, result.id, ResultStatus.GIVEN_UP, reason="given up by the winner", pay_seconds=pay_seconds
    )
    if not released:
        return _("This unit is already settled: %(status)s.", status=str(view.RESULT_LABELS[result.status]))
    touch_after_commit(db, "auction", auction_id)
    return None


async def my_bids(db: AsyncSession, member_id: int, number: int, size: int) -> dict[str, Any]:
    stmt = select(Bid).where(Bid.member_id == member_id).order_by(Bid.id.desc())
    bids = await paginate(db, stmt, number, size)
    return {"page": bids, "auctions": await view.bid_context(db, member_id, [b.auction_id for b in bids.items])}


async def seller_auctions(db: AsyncSession, seller_id: int, number: int, size: int) -> dict[str, Any]:
    stmt = select(Auction).where(Auction.seller_id == seller_id).order_by(Auction.id.desc())
    auctions: Page[Auction] = await paginate(db, stmt, number, size)
    names = await product_names(db, [a.product_id for a in auctions.items])
    return {"page": auctions, "names": names, "labels": view.STATUS_LABELS}


async def seller_auction(db: AsyncSession, seller_id: int, auction_id: int) -> dict[str, Any]:
    """One of the seller's auctions with its results; anyone else's is "not found"."""
    found = await auction(db, auction_id)
    if found.seller_id != seller_id:
        raise NotFound(_(_UNKNOWN))
    return {
        "auction": found,
        "product": await db.get(Product, found.product_id),
        "state": await view.auction_state(db, auction_id),
        "results": await view.results(db, auction_id),
        "result_labels": view.RESULT_LABELS,
        "labels": view.STATUS_LABELS,
    }
