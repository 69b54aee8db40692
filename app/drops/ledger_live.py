"""A stock ledger page, live: after every change of the product (its ``product:{id}`` channel) the
first page is read again in a short session of its own and sent whole, in the viewer's language
and zone (``app.live.watch``): new rows appear at the top, the total and the state follow."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from jinja2 import Environment
from litestar.response.sse import ServerSentEventMessage

from app.core.errors import NotFound
from app.core.i18n import current_language, current_zone_name, using
from app.db import Database
from app.drops.ledger import StockLedgerService
from app.live.hub import channel_for
from app.live.streams import LiveStreams
from app.live.watch import Reading, watched
from app.models.members import Member


def ledger_stream(
    database: Database,
    streams: LiveStreams,
    env: Environment,
    product_id: int,
    size: int,
    seller: Member | None = None,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The first page of the product's ledger now and after each change (the seller's own
    product only, with ``seller``); ends if the product is gone."""
    language, zone = current_language(), current_zone_name()
    template = env.get_template("drops/_ledger_body.html")
    channels = [channel_for(product_id)]

    async def render() -> Reading | None:
        with using(language, zone):
            async with database.transaction() as db:
                ledgers = StockLedgerService(db)
                try:
                    product = await ledgers.product(product_id, seller=seller)
                except NotFound:
                    return None
                ledger = await ledgers.ledger(product, 1, size)
            html = template.render({"ledger": ledger, "p": product, "page": ledger.lines})
        return Reading([ServerSentEventMessage(event="ledger", data=html)], channels)

    return watched(streams, channels, render)
