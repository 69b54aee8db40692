"""``GET /healthz``: which database and broker/channels backends, and whether each answers."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.response import Response


async def _redis_answers(url: str) -> bool:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


@get("/healthz", name="healthz", skip_session=True)
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = request.app.state
    db_ok = await state.database.ping()
    broker_ok = await anyio.to_thread.run_sync(state.broker.ping)
    channels_backend = "redis" if state.settings.redis_url else "memory"
    channels_ok = await _redis_answers(state.settings.redis_url) if state.settings.redis_url else True
    body = {
        "status": "ok" if db_ok else "unavailable",
        "database": {"backend": state.database.backend, "ok": db_ok},
        "broker": {"backend": state.broker.backend, "ok": broker_ok},
        "channels": {"backend": channels_backend, "ok": channels_ok},
        "sessions": {"backend": "redis" if state.settings.redis_url else "file"},
    }
    return Response(content=body, status_code=200 if db_ok else 503)
