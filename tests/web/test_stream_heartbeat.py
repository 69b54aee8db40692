"""Every live stream keeps a balancer's idle timeout away: after ``sse_heartbeat_seconds`` without
an event it sends a ``: ping`` comment line (which EventSource ignores), and every stream answers
with ``X-Accel-Buffering: no`` and ``Cache-Control: no-cache`` so no proxy holds its events back.
A reconnecting client still gets the current state first (the stream tests of each page)."""

from __future__ import annotations

import time

from app.settings import Settings
from tests.helpers.auctions import live_auction
from tests.helpers.config import with_settings
from tests.helpers.drops import on_sale
from tests.helpers.streams import parse_events, read_stream
from tests.helpers.web import as_admin, login, signed_in

HEARTBEAT = 0.3
PING = b"\r\n: ping\r\n\r\n"  # a comment line of its own, right after an event
SLACK = 2.0  # a busy machine's delay on top of the interval

SHORT = with_settings("short heartbeat", sse_heartbeat_seconds=HEARTBEAT)


async def pinged(client, path: str) -> tuple[dict, bytes, float]:
    """The response start and body of ``path`` up to its first ping, and the seconds from the end of
    the current state (the first chunk) to that ping."""
    seen: dict[str, float] = {}

    def enough(body: bytearray) -> bool:
        seen.setdefault("first", time.monotonic())
        if b": ping" in body:
            seen["ping"] = time.monotonic()
            return True
        return False

    start, body = await read_stream(client, path, enough, limit=HEARTBEAT + SLACK + 5)
    assert "ping" in seen, body
    return start, body, seen["ping"] - seen["first"]


def assert_heartbeat(start: dict, body: bytes, quiet: float) -> None:
    assert start["status"] == 200
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    assert headers["x-accel-buffering"] == "no" and headers["cache-control"] == "no-cache"
    assert headers["content-type"].startswith("text/event-stream")
    assert parse_events(body.decode()), "the current state comes first"
    assert PING in body and quiet < HEARTBEAT + SLACK
    assert b"data: \r\n" not in body.split(b": ping")[1]  # a comment only, never an empty event


@SHORT
async def test_a_products_stream_pings_when_it_is_quiet(client, app, members, products):
    product = await on_sale(app, members, products)
    assert_heartbeat(*await pinged(client, f"/products/{product.id}/events"))


@SHORT
async def test_an_auctions_stream_pings_when_it_is_quiet(client, app, members, products):
    auction = await live_auction(app, members, products)
    await signed_in(client, members)  # a bidder's stream: the shared state and their position
    assert_heartbeat(*await pinged(client, f"/auctions/{auction.id}/events"))


@SHORT
async def test_the_notification_badge_pings(client, members):
    await signed_in(client, members)
    assert_heartbeat(*await pinged(client, "/me/notifications/events"))


@SHORT
async def test_the_sellers_streams_ping(client, app, members, products):
    product = await on_sale(app, members, products)
    await login(client, (await members.get(product.seller_id)).email)
    for path in ("/seller/events", "/seller/products/events", f"/seller/products/{product.id}/stock/events"):
        assert_heartbeat(*await pinged(client, path))


@SHORT
async def test_the_admins_ledger_stream_pings(client, app, members, products):
    product = await on_sale(app, members, products)
    await as_admin(client, members)
    assert_heartbeat(*await pinged(client, f"/admin/products/{product.id}/stock/events"))


def test_the_heartbeat_is_fifteen_seconds_unless_set(tmp_path):
    env = {"SMORE_VAR_DIR": str(tmp_path)}
    assert Settings.from_env(env).sse_heartbeat_seconds == 15.0
    assert Settings.from_env({**env, "SSE_HEARTBEAT_SECONDS": "5"}).sse_heartbeat_seconds == 5.0
