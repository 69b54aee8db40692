"""Bench only: the floor of a refused Buy press, for ``bench/drop.py``'s cost shape.

    DATABASE_URL=postgresql://… REDIS_URL=redis://… uvicorn bench.drop_floor:create_app --factory --workers 2

The framework ceiling's app (``bench.drop_ceiling``: the form parsed, a small Jinja fragment
rendered) plus only the round trips a refused press cannot do without, made with the bare drivers
(redis-py with hiredis, asyncpg; no ORM, no middleware, no metrics, no logging):

- the session read, renewing its idle expiry (``GETEX``), and its JSON decoded;
- the gate's lookup of the key (``GET``);
- the durable refusal, one transaction per press: the product's row locked with a write that
  changes nothing, the snapshot read (the key's right or kept refusal, the member's standing, the
  rights they hold, in one statement), the refusal inserted, the commit;
- the answer told to the gate (``SET`` with its lifetime).

Whatever the shop spends beyond this is its framework and its features (CSRF, metrics, logs, the
press line, batches, telemetry); what this costs beyond the ceiling is the least a press that keeps
its refusal can cost on this machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, post
from litestar.response import Template

from bench.drop_ceiling import FRAGMENTS, buy_box, healthz, template_config

SESSION_MAX_AGE = 14 * 24 * 3600
ANSWER_TTL = 24 * 3600

LOCK = (
    "UPDATE products SET taken_quantity = taken_quantity WHERE id = $1 "
    "RETURNING status, purchase_limit, list_price, fixed_quantity, taken_quantity, seller_id"
)
SNAPSHOT = """
SELECT 0, idempotency_key, id, member_id, product_id FROM purchase_rights WHERE idempotency_key = ANY($1::text[])
UNION ALL SELECT 1, key, NULL, member_id, product_id FROM press_refusals WHERE key = ANY($1::text[])
UNION ALL SELECT 2, NULL, id, session_generation, NULL FROM members WHERE id = ANY($2::bigint[]) AND status = 'active'
UNION ALL SELECT 3, NULL, member_id, count(*), NULL FROM purchase_rights
  WHERE product_id = $3 AND member_id = ANY($2::bigint[]) AND status IN ('held', 'paid') GROUP BY member_id
"""
KEEP = "INSERT INTO press_refusals (key, product_id, member_id, outcome, created_at) VALUES ($1, $2, $3, $4, now())"


@post("/products/{product_id:int}/buy")
async def buy(request: Request[Any, Any, Any], product_id: int) -> Template:
    state = request.app.state
    form = await request.form()
    key = str(form.get("key", ""))
    raw = await state.redis.getex(f"smore_sessions:{request.cookies.get('session', '')}", ex=SESSION_MAX_AGE)
    session = json.loads(raw) if raw else {}
    member_id = int(session.get("member_id") or state.member_id)
    answer_key = f"smore:gate:{{{product_id}}}:k:{key}"
    if await state.redis.get(answer_key) is None:
        async with state.pg.acquire() as conn, conn.transaction():
            await conn.fetchrow(LOCK, product_id)
            await conn.fetch(SNAPSHOT, [key], [member_id], product_id)
            await conn.execute(KEEP, key, product_id, member_id, "sold_out")
        await state.redis.set(answer_key, f"sold_out:{member_id}", ex=ANSWER_TTL)
    context = {
        "outcome": "sold_out",
        "message": "Sold out. Units that are not paid in time come back, so keep this page open.",
        "product_id": product_id,
        "key": key,
    }
    return Template(template_name="result.html", context=context)


@asynccontextmanager
async def drivers(app: Litestar) -> AsyncIterator[None]:
    import asyncpg
    from redis.asyncio import Redis

    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    app.state.pg = await asyncpg.create_pool(url, min_size=2, max_size=10)
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"])
    app.state.member_id = await app.state.pg.fetchval("SELECT min(id) FROM members")
    try:
        yield
    finally:
        await app.state.redis.aclose()
        await app.state.pg.close()


def create_app() -> Litestar:
    assert FRAGMENTS  # the ceiling's fragments, rendered the same way
    return Litestar(route_handlers=[buy, buy_box, healthz], template_config=template_config(), lifespan=[drivers])
