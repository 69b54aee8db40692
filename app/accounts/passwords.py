"""Password hashing with passlib's argon2 scheme, off the event loop. A password longer than any
the shop accepts is never hashed: it cannot be anyone's, and hashing megabytes costs a thread."""

from __future__ import annotations

import secrets

import anyio.to_thread
from passlib.context import CryptContext

from app.accounts.rules import PASSWORD_MAX

# A stored "hash" with this prefix matches no password (an administrator reset it): like Django's
# unusable passwords, it is no hash passlib knows, so nothing can be verified against it.
UNUSABLE_PREFIX = "!"


def unusable_password() -> str:
    return UNUSABLE_PREFIX + secrets.token_urlsafe(24)


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
        if len(password) > PASSWORD_MAX:  # the form's rules refuse it first
            raise ValueError(f"a password has at most {PASSWORD_MAX} characters")
        return await anyio.to_thread.run_sync(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if len(password) > PASSWORD_MAX:
            return False
        usable = password_hash is not None and not password_hash.startswith(UNUSABLE_PREFIX)
        target = password_hash if usable and password_hash else self._dummy_hash
        ok = await anyio.to_thread.run_sync(self._context.verify, password, target)
        return bool(ok) and usable
