"""The live hubs of a process: product stock, auction state, a waiting room's line (what every
member in it sees alike), each member's inbox badge, and a seller's money (a bare "something
changed" for the seller's dashboard, which reads its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.auctions.view import auction_state, live_extra
from app.db import Database
from app.drops.waiting_room import line_state
from app.live.hub import LiveHub, Publish
from app.notifications.service import badge_state, badge_states
from app.notifications.service import channel_for as member_channel

LINE_COALESCE_SECONDS = 1.0


def auction_channel(auction_id: int) -> str:
    return f"auction:{auction_id}"


def line_channel(product_id: int) -> str:
    return f"line:{product_id}"


def seller_channel(seller_id: int) -> str:
    return f"seller:{seller_id}"


async def seller_state(db: Any, seller_id: int) -> dict[str, Any]:
    """A seller's dashboard reads what it shows itself, in the viewer's language and zone: the
    message only says that the seller's money or refund requests changed."""
    return {"seller_id": seller_id}


def build_hubs(database: Database | Callable[[], Database], publish: Publish, engine: Any) -> dict[str, LiveHub]:
    def hub(template_name: str, **options: Any) -> LiveHub:
        template = engine.get_template(template_name)
        return LiveHub(database, publish, render=lambda state: template.render(state=state), **options)

    return {
        "product": hub("drops/_stock.html"),
        "auction": hub(
            "auctions/_live.html", read=auction_state, channel=auction_channel, event="state", extra=live_extra
        ),
        # A line's count moves with every admission and every unit taken: once a second is enough for
        # its members, whose pages work out their own wait from it, and each message is written to
        # every member of a line that may be tens of thousands long.
        "line": hub(
            "drops/_line_live.html", read=line_state, channel=line_channel, event="line", coalesce=LINE_COALESCE_SECONDS
        ),
        "member": hub(
            "notifications/_badge.html", read=badge_state, read_many=badge_states, channel=member_channel, event="badge"
        ),
        "seller": LiveHub(
            database, publish, render=lambda state: "", read=seller_state, channel=seller_channel, event="seller"
        ),
    }
