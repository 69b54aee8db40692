"""Through the app: product and auction viewers share one room per channel and process, and a
browser that hangs up leaves no viewer, room or open stream behind (the ops page's count)."""

from __future__ import annotations

import asyncio

from tests.helpers.auctions import live_auction
from tests.helpers.drops import on_sale
from tests.helpers.streams import parse_events, read_stream


def first_event(body: bytearray) -> bool:
    return bool(parse_events(body.decode()))


async def test_viewers_that_hang_up_leave_nothing_behind(client, app, members, products):
    product = await on_sale(app, members, products)
    auction = await live_auction(app, members, products)
    streams = app.state["streams"]
    paths = [f"/products/{product.id}/events", f"/auctions/{auction.id}/events"] * 3
    answers = await asyncio.gather(*(read_stream(client, path, first_event, 8) for path in paths))
    for start, body in answers:
        assert start["status"] == 200 and parse_events(body.decode())
    for _ in range(50):
        if streams.open_count == 0 and not streams.rooms.rooms:
            break
        await asyncio.sleep(0.02)
    assert streams.open_count == 0
    assert streams.rooms.rooms == {}, "the last viewer of a channel closes its room and subscription"


async def test_an_unknown_subject_is_a_404_and_leaves_no_room(client, app):
    streams = app.state["streams"]
    for path in ("/products/999999/events", "/auctions/999999/events"):
        assert (await client.get(path)).status_code == 404
    assert streams.rooms.rooms == {} and streams.open_count == 0
