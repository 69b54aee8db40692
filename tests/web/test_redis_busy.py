"""When Redis gives no connection (its pool's wait ran out under a crowd, as a 10,000-press burst
showed on the session read) or does not answer in time, the request is answered 503 with
``Retry-After``, a page for a browser and JSON for an API client, never a 500."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.web.sessions import RotatingSessionBackend


@pytest.mark.parametrize(
    "failure",
    [RedisConnectionError("No connection available."), RedisTimeoutError("Timeout reading from socket")],
    ids=["no-connection", "timeout"],
)
async def test_redis_giving_no_connection_is_a_503_with_retry_after(client, monkeypatch, failure):
    async def no_redis(self, connection):
        raise failure

    monkeypatch.setattr(RotatingSessionBackend, "load_from_connection", no_redis)
    page = await client.get("/")
    assert page.status_code == 503 and page.headers["retry-after"]
    assert page.headers["content-type"].startswith("text/html") and "<html" in page.text
    api = await client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.json()["status_code"] == 503
