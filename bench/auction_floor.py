"""Bench only: the floor of a bid, for ``bench/auction.py``'s cost shape.

    DATABASE_URL=postgresql://… REDIS_URL=redis://… uvicorn bench.auction_floor:create_app --factory --workers 2

The bid ceiling's app (``bench.auction_ceiling``: the form parsed, the bid box fragment rendered)
plus only the round trips a bid cannot do without when it must be stored before it is acknowledged
(MISSION, auctions), made with the bare drivers (redis-py with hiredis, asyncpg; no ORM, no
middleware, no metrics, no logging):

- the session read, renewing its idle expiry (``GETEX``), and its JSON decoded;
- one transaction per bid: the auction's row locked with a write that changes nothing (its status,
  units, prices and bid count returned), the standing bids it is ranked against (the top units + 1),
  and, when the bid is high enough, one statement that inserts the bid, raises or inserts the
  bidder's standing bid and moves the auction's bid count; the commit.

Left out as the shop's features, not the bid's needs: CSRF, idempotency keys looked up before the
bid, proxy bidding, the outbid members' notices, the outbox row, and the live state for viewers
(the shop's hubs read it once per 100 ms for every bid of the interval, so its share of one bid is
small at 400 bids/s). Whatever the shop spends beyond this is its framework and those features;
what this costs beyond the ceiling is the least a stored bid can cost on this machine.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from jinja2 import DictLoader, Environment
from litestar import Litestar, Request, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

from bench.auction_ceiling import FRAGMENTS, healthz, page
from bench.drop_floor import drivers  # the same bare drivers: asyncpg pool, redis-py, a member id

SESSION_MAX_AGE = 14 * 24 * 3600

LOCK = (
    "UPDATE auctions SET bid_count = bid_count WHERE id = $1 RETURNING status, units, start_price, increment, bid_count"
)
STANDINGS = (
    "SELECT member_id, amount, sequence FROM standing_bids WHERE auction_id = $1 "
    "ORDER BY amount DESC, sequence LIMIT $2"
)
# The bid, the bidder's standing bid and the auction's count in one statement.
STORE = """
WITH bid AS (
  INSERT INTO bids (auction_id, member_id, amount, kind, sequence, key, created_at)
  VALUES ($1, $2, $3, 'manual', $4, $5, now()) RETURNING id
), standing AS (
  INSERT INTO standing_bids (auction_id, member_id, amount, sequence, bid_id, updated_at)
  SELECT $1, $2, $3, $4, id, now() FROM bid
  ON CONFLICT (auction_id, member_id)
  DO UPDATE SET amount = excluded.amount, sequence = excluded.sequence, bid_id = excluded.bid_id,
                updated_at = excluded.updated_at
  RETURNING id
)
UPDATE auctions SET bid_count = $4 WHERE id = $1 AND EXISTS (SELECT 1 FROM standing)
"""


def lowest_accepted(units: int, start: int, step: int, standing: list[Any]) -> int:
    """The least amount a new bid must offer: the start price while a unit is free, else one step
    above the lowest of the top ``units`` standing bids."""
    if len(standing) < units:
        return start
    return int(standing[units - 1]["amount"]) + step


@post("/auctions/{auction_id:int}/bids")
async def bid(request: Request[Any, Any, Any], auction_id: int) -> Template:
    state = request.app.state
    form = await request.form()
    amount = int(form.get("amount") or 0)
    raw = await state.redis.getex(f"smore_sessions:{request.cookies.get('session', '')}", ex=SESSION_MAX_AGE)
    session = json.loads(raw) if raw else {}
    member_id = int(session.get("member_id") or state.member_id)
    async with state.pg.acquire() as conn, conn.transaction():
        auction = await conn.fetchrow(LOCK, auction_id)
        standing = await conn.fetch(STANDINGS, auction_id, auction["units"] + 1)
        if amount >= lowest_accepted(auction["units"], auction["start_price"], auction["increment"], standing):
            await conn.execute(STORE, auction_id, member_id, amount, auction["bid_count"] + 1, secrets.token_hex(16))
    context = {"auction_id": auction_id, "amount": amount, "key": secrets.token_hex(16)}
    return Template(template_name="bid.html", context=context)


def create_app() -> Litestar:
    engine = JinjaTemplateEngine.from_environment(Environment(loader=DictLoader(FRAGMENTS), autoescape=True))
    return Litestar(
        route_handlers=[bid, page, healthz], template_config=TemplateConfig(instance=engine), lifespan=[drivers]
    )
