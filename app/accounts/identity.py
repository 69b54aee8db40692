"""Who is behind a request. The member is re-loaded on every request, so suspension or
withdrawal takes effect on the very next one. A session also carries the member's session
generation from its sign-in: raising the member's (a password change or reset, a suspension,
``app.accounts.sessions``) ends every session that carries an older one, on any store."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.plugins.flash import flash

from app.core.i18n import Msg
from app.db import request_session
from app.models.members import Member, MemberStatus
from app.observability.logs import bind_member
from app.web.sessions import rotate_session_id

SESSION_MEMBER_KEY = "member_id"
SESSION_GENERATION_KEY = "generation"
_STATE_KEY = "smore_member"
_UNSET = object()


def session_member_id(connection: ASGIConnection[Any, Any, Any, Any]) -> int | None:
    """The member id the session was signed in with, not yet checked against the database."""
    session = connection.scope.get("session")
    member_id = session.get(SESSION_MEMBER_KEY) if isinstance(session, dict) else None
    return member_id if isinstance(member_id, int) else None


def session_generation(connection: ASGIConnection[Any, Any, Any, Any]) -> int:
    """The member's session generation when this session was signed in (0 before it was kept)."""
    session = connection.scope.get("session")
    generation = session.get(SESSION_GENERATION_KEY, 0) if isinstance(session, dict) else 0
    return generation if isinstance(generation, int) else -1


_ENDED = {
    MemberStatus.SUSPENDED: Msg("Your account has been suspended. You have been signed out."),
    MemberStatus.WITHDRAWN: Msg("This account has been withdrawn. You have been signed out."),
}
_RENEW = Msg("You were signed out: your password was changed, or your sessions were ended. Please sign in again.")


def _why_ended(connection: ASGIConnection[Any, Any, Any, Any], member: Member | None) -> str | None:
    """Why the session no longer signs ``member`` in ("" when there is nothing to say), or None."""
    if member is None:
        return ""
    if member.status is not MemberStatus.ACTIVE:
        return str(_ENDED.get(member.status, ""))
    if member.session_generation != session_generation(connection):
        return str(_RENEW)
    return None


async def current_member(connection: ASGIConnection[Any, Any, Any, Any]) -> Member | None:
    state = connection.scope.setdefault("state", {})
    cached = state.get(_STATE_KEY, _UNSET)
    if cached is not _UNSET:
        return cast(Member | None, cached)
    member: Member | None = None
    if (member_id := session_member_id(connection)) is not None:
        member = await request_session(connection).get(Member, member_id)
        if (reason := _why_ended(connection, member)) is not None:
            connection.scope["session"] = {}
            if reason:
                flash(connection, reason, "error")
            member = None
    state[_STATE_KEY] = member
    bind_member(member.id if member is not None else None)  # on the request's log lines from here on
    return member


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], member: Member) -> None:
    """Bind the session to ``member`` under a brand-new session id."""
    connection.scope["session"] = {SESSION_MEMBER_KEY: member.id, SESSION_GENERATION_KEY: member.session_generation}
    rotate_session_id(connection)
    connection.scope.setdefault("state", {})[_STATE_KEY] = member
    bind_member(member.id)


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Delete the session server-side (an Empty session makes the backend drop the record)."""
    from litestar.types import Empty

    connection.scope["session"] = Empty
    connection.scope.setdefault("state", {})[_STATE_KEY] = None
    bind_member(None)


def forget_member(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Sign the browser out but keep a (new, empty) session for the message it is shown next."""
    connection.scope["session"] = {}
    rotate_session_id(connection)
    connection.scope.setdefault("state", {})[_STATE_KEY] = None
    bind_member(None)
