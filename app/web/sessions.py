"""Server-side sessions whose id is replaced at login, written only when they change.

Litestar's ``ServerSideSessionBackend`` keeps the id from the cookie for the life of the session;
fixation protection needs a fresh id when the member behind the session changes, so this backend
drops the old record and issues a new id when ``rotate_session_id`` has been called.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, ScopeSession

_ROTATE = "smore_rotate_session"
_NEW_ID = "smore_new_session_id"
_LOADED = "smore_session_loaded"


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.scope.setdefault("state", {})[_ROTATE] = True


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id = connection.scope.get("state", {}).get(_NEW_ID)
        return new_id or super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        if session_id := connection.cookies.get(self.config.key):
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                connection.scope.setdefault("state", {})[_LOADED] = data
                return self.deserialize_data(data)
        return {}

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope.setdefault("state", {})
        loaded: bytes | None = state.get(_LOADED)
        if not state.get(_ROTATE) and isinstance(scope_session, dict):
            # Nothing to keep for a visitor without a session, and nothing to write when the session
            # is as it was loaded (the store renews its expiry on access): a request answered from
            # the session alone costs no store write.
            if not scope_session and loaded is None:
                return
            if loaded is not None and self.serialize_data(scope_session, connection.scope) == loaded:
                return
        if state.pop(_ROTATE, False):
            old_id = connection.cookies.get(self.config.key)
            if old_id and old_id != "null":
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            state[_NEW_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
