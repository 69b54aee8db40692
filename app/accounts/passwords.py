"""Password hashing with passlib's argon2 scheme, off the event loop."""

from __future__ import annotations

import anyio.to_thread
from passlib.context import CryptContext


class PasswordHasher:
    def __init__(self, time_cost: int = 3, memory_cost: int = 65536) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__time_cost=time_cost,
            argon2__memory_cost=memory_cost,
            argon2__parallelism=1,
        )
        # Verified against when the email is unknown, so both paths cost the same.
        self._dummy_hash = self._context.hash("smore-no-such-member")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        target = password_hash or self._dummy_hash
        ok = await anyio.to_thread.run_sync(self._context.verify, password, target)
        return bool(ok) and password_hash is not None
