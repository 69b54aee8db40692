"""Failed-login throttle, per email and per client address, kept in a Litestar store.

Litestar's RateLimitMiddleware counts every request of a client; logins need to count only
*failures*, and per email as well as per address, so the counters live in a store of their own
(memory in the embedded default, Redis with ``REDIS_URL``) and expire with their window.
"""

from __future__ import annotations

import hashlib

from litestar.stores.base import Store


class LoginThrottle:
    def __init__(self, store: Store, per_email: int, per_address: int, window_seconds: int) -> None:
        self.store = store
        self.per_email = per_email
        self.per_address = per_address
        self.window = window_seconds

    @staticmethod
    def _key(kind: str, value: str) -> str:
        return f"login-fail:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"

    async def _count(self, key: str) -> int:
        raw = await self.store.get(key)
        return int(raw) if raw else 0

    async def blocked(self, email: str, address: str) -> bool:
        return (
            await self._count(self._key("email", email)) >= self.per_email
            or await self._count(self._key("addr", address)) >= self.per_address
        )

    async def record_failure(self, email: str, address: str) -> None:
        for key in (self._key("email", email), self._key("addr", address)):
            count = await self._count(key)
            ttl = await self.store.expires_in(key)
            await self.store.set(key, str(count + 1), expires_in=ttl if ttl and ttl > 0 else self.window)

    async def clear(self, email: str) -> None:
        await self.store.delete(self._key("email", email))
