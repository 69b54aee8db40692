"""The app's session records, read and written from a test: the same store the app keeps them in
(the session files, or Redis under the app's namespace), opened on the test's own event loop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore

from app.settings import Settings


@asynccontextmanager
async def session_store(settings: Settings) -> AsyncIterator[Store]:
    if settings.redis_url:
        root = RedisStore.with_client(url=settings.redis_url, namespace="smore")
        async with root:
            yield root.with_namespace("sessions")
    else:
        yield FileStore(settings.var_dir / "sessions")


async def stored_session(settings: Settings, session_id: str) -> dict[str, Any] | None:
    async with session_store(settings) as store:
        data = await store.get(session_id)
    return None if data is None else json.loads(data)


async def replace_session(settings: Settings, session_id: str, session: dict[str, Any]) -> None:
    """Write ``session`` as the app would (its compact JSON), for a day."""
    async with session_store(settings) as store:
        await store.set(session_id, json.dumps(session, separators=(",", ":")).encode(), expires_in=24 * 3600)
