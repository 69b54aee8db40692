"""The seller's dashboard as a page and as a live stream (``/seller/events``).

The page renders everything once. The stream re-reads the dashboard in a short session of its own
after a change on any channel it shows (``app.live.watch``), in the viewer's language and zone,
and sends each live part as its own event (the numbers, each drop's units, chart and table rows,
each auction's figures, chart and rows), so a table the seller has opened stays open. When the
set of live drops and auctions differs from what the page shows (``layout``), it sends the whole
live part again instead."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from app.catalog import lifecycle
from app.core.i18n import current_language, current_zone_name, using
from app.db import Database
from app.live.hub import channel_for
from app.live.hubs import seller_channel
from app.live.streams import LiveStreams
from app.live.watch import Reading, watched
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.members import Member
from app.sellers import chart_rules
from app.sellers.dashboard import Dashboard, dashboard
from app.sellers.service import SellerService

# What the chart templates need of the geometry (app/sellers/chart_rules.py).
PLOTS = SimpleNamespace(
    width=chart_rules.VIEW_WIDTH,
    height=chart_rules.VIEW_HEIGHT,
    units=chart_rules.UNITS_FRAME,
    presses=chart_rules.PRESSES_FRAME,
    bids_frame=chart_rules.BIDS_FRAME,
    sell_through=chart_rules.sell_through_plot,
    bids=chart_rules.bid_plot,
)
PARTS = "sellers/dashboard/"


def template_env(app: Any) -> Environment:
    """The app's Jinja environment (the one its pages are rendered with)."""
    engine = app.template_engine
    assert engine is not None
    env: Environment = engine.engine
    return env


def layout_key(board: Dashboard) -> str:
    """The live drops and auctions the page shows, as the stream compares them."""
    drops, auctions = board.subjects
    return "d" + ".".join(map(str, drops)) + "-a" + ".".join(map(str, auctions))


def board_context(board: Dashboard) -> dict[str, Any]:
    return {"board": board, "plots": PLOTS, "layout": layout_key(board)}


async def page_context(db: AsyncSession, member: Member) -> dict[str, Any]:
    """The dashboard page: the seller's application and the whole board as it stands now."""
    application = await SellerService(db).latest_application(member)
    return {"application": application, **board_context(await dashboard(db, member.id, utcnow()))}


def part_events(env: Environment, board: Dashboard, shown_layout: str) -> list[ServerSentEventMessage]:
    """The events that bring a page showing ``shown_layout`` up to ``board``."""
    context = board_context(board)
    if context["layout"] != shown_layout:
        body = env.get_template(PARTS + "_body.html").render(context)
        return [ServerSentEventMessage(event="dashboard", data=body)]

    def part(name: str, **more: Any) -> str:
        return env.get_template(PARTS + name).render(context | more)

    charts: Any = env.get_template(PARTS + "_charts.html").make_module(context)
    events = [ServerSentEventMessage(event="numbers", data=part("_numbers.html"))]
    for drop in board.live_drops:
        prefix = f"drop-{drop.product.id}"
        events += [
            ServerSentEventMessage(event=f"{prefix}-units", data=part("_drop_units.html", drop=drop)),
            ServerSentEventMessage(event=f"{prefix}-chart", data=str(charts.sell_through_svg(drop, board.now))),
            ServerSentEventMessage(event=f"{prefix}-rows", data=str(charts.sell_through_rows(drop))),
        ]
    for live in board.live_auctions:
        prefix = f"auction-{live.auction.id}"
        events += [
            ServerSentEventMessage(event=f"{prefix}-figures", data=part("_auction_figures.html", live=live)),
            ServerSentEventMessage(event=f"{prefix}-chart", data=str(charts.bid_svg(live, board.now))),
            ServerSentEventMessage(event=f"{prefix}-rows", data=str(charts.bid_rows(live))),
        ]
    return events


def dashboard_stream(
    database: Database, streams: LiveStreams, env: Environment, seller_id: int, layout: str
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The seller's live dashboard: the current state first, then after every change (coalesced)."""
    language, zone = current_language(), current_zone_name()
    shown = {"layout": layout[:200]}

    async def render() -> Reading:
        with using(language, zone):
            async with database.transaction() as db:
                board = await dashboard(db, seller_id, utcnow())
            events = part_events(env, board, shown["layout"])
        shown["layout"] = layout_key(board)
        return Reading(events, board.channels)

    return watched(streams, [seller_channel(seller_id)], render)


# ---------------------------------------------------------------- /seller/products, live

# A product in one of these states may change during a sale; the list's stream follows them.
CHANGING = (
    ProductStatus.SCHEDULED,
    ProductStatus.ON_SALE,
    ProductStatus.CONVERSION_PENDING,
    ProductStatus.AUCTION_LIVE,
)
WATCHED_PRODUCTS = 100


async def changing_products(db: AsyncSession, seller_id: int, also: set[int]) -> list[Product]:
    """The seller's products that may change now (the latest first, a bounded number), and those
    of ``also`` (followed before: their last change is shown too)."""
    stmt = (
        select(Product)
        .options(lazyload(Product.images))
        .where(Product.seller_id == seller_id, Product.status.in_(CHANGING) | Product.id.in_(also))
        .order_by(Product.id.desc())
        .limit(WATCHED_PRODUCTS)
    )
    return list((await db.execute(stmt)).scalars())


def product_list_stream(
    database: Database, streams: LiveStreams, env: Environment, seller_id: int
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The state and stock cells of the seller's changing products, now and after each change."""
    language, zone = current_language(), current_zone_name()
    followed: set[int] = set()

    async def render() -> Reading:
        with using(language, zone):
            async with database.transaction() as db:
                rows = await changing_products(db, seller_id, followed)
            cells: Any = env.get_template("sellers/_product_cells.html").make_module({"labels": lifecycle.LABELS})
            events = []
            for p in rows:
                events.append(ServerSentEventMessage(event=f"product-{p.id}-state", data=str(cells.state_cell(p))))
                events.append(ServerSentEventMessage(event=f"product-{p.id}-stock", data=str(cells.stock_cell(p))))
        followed.update(p.id for p in rows)
        return Reading(events, [seller_channel(seller_id), *(channel_for(p.id) for p in rows)])

    return watched(streams, [seller_channel(seller_id)], render)
