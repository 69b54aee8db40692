"""Server-side sessions whose id is replaced at login, written only when they change, with an
idle and an absolute lifetime.

Litestar's ``ServerSideSessionBackend`` keeps the id from the cookie for the life of the session;
fixation protection needs a fresh id when the member behind the session changes, so this backend
drops the old record and issues a new id when ``rotate_session_id`` has been called.

Lifetimes: the store renews a session's expiry (``max_age``, idle) on every read, and the cookie
must follow, or the browser drops it ``max_age`` after it was last sent. Re-sending it means
writing the record (the cookie's time is kept in it), so it is re-sent only once a tenth of its
life has passed: a request answered from an unchanged session costs no write. Whatever its
activity, a session ends ``absolute_max_age`` after it began (a sign-in begins a new one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, Scope, ScopeSession

_ROTATE = "smore_rotate_session"
_NEW_ID = "smore_new_session_id"
_LOADED = "smore_session_loaded"
_ENDED = "smore_session_ended"
# Kept in the session itself: when it began, and when its cookie was last sent (Unix seconds).
STARTED_KEY = "_started"
COOKIE_SENT_KEY = "_cookie_at"
RESEND_FRACTION = 10


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.scope.setdefault("state", {})[_ROTATE] = True


def session_id_rotated(scope: Scope) -> bool:
    """Whether this request's session leaves with a new id (until the session is stored)."""
    return bool(scope.get("state", {}).get(_ROTATE))


class RotatingSessionBackend(ServerSideSessionBackend):
    config: RotatingSessionConfig

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id = connection.scope.get("state", {}).get(_NEW_ID)
        return new_id or super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        if session_id := connection.cookies.get(self.config.key):
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                session = self.deserialize_data(data)
                state = connection.scope.setdefault("state", {})
                if self._over(session, time.time()):
                    await self.delete(session_id, store=store)
                    state[_ENDED] = True
                    return {}
                state[_LOADED] = data
                return session
        return {}

    def _over(self, session: dict[str, Any], now: float) -> bool:
        started = session.get(STARTED_KEY)
        return isinstance(started, int | float) and now - started >= self.config.absolute_max_age

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope.setdefault("state", {})
        loaded: bytes | None = state.get(_LOADED)
        new_id = state.pop(_ROTATE, False) or state.get(_ENDED, False)
        if isinstance(scope_session, dict) and not scope_session.keys() - {STARTED_KEY, COOKIE_SENT_KEY}:
            if loaded is None and not state.get(_ENDED):
                return  # nothing to keep for a visitor without a session
            scope_session = Empty  # an emptied or ended session: the record goes, and its cookie
        if isinstance(scope_session, dict):
            self._stamp(scope_session, new_id)
            if not new_id and loaded is not None and self.serialize_data(scope_session, connection.scope) == loaded:
                return  # as it was loaded, its cookie recent: no write
        if new_id:
            old_id = connection.cookies.get(self.config.key)
            if old_id and old_id != "null":
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            if scope_session is not Empty:
                state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)

    def _stamp(self, session: dict[str, Any], new: bool) -> None:
        """Note when the session began and, when its cookie is due, that it is sent now."""
        now = int(time.time())
        if new or not isinstance(session.get(STARTED_KEY), int):
            session[STARTED_KEY] = now
        sent = session.get(COOKIE_SENT_KEY)
        if new or not isinstance(sent, int) or now - sent >= self.config.max_age // RESEND_FRACTION:
            session[COOKIE_SENT_KEY] = now


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
    # A session ends this long after it began, however active (seconds).
    absolute_max_age: int = field(default=30 * 24 * 3600)
