"""CSRF tokens bound to the signed-in session, new at every sign-in and sign-out.

Litestar's ``CSRFMiddleware`` checks a double-submit cookie: the form (or the ``x-csrftoken``
header) must carry the token of the ``csrftoken`` cookie, signed with the secret key. That stays
the check for a visitor without a session, and this middleware adds to it:

* a signed-in session keeps its own token server-side (``_csrf``): an unsafe request of that
  session must carry that very token, so a cookie planted in the browser (by a sibling sub-domain,
  say) is worth nothing;
* the token is replaced whenever the session id is (``rotate_session_id``: sign-in), and when the
  session ends (sign-out, suspension): no token outlives the session it was issued for;
* the cookie follows the session's token: each response re-sends it when it differs.

It runs inside the session middleware (the app's middleware list), so the session is loaded when
it checks a request and not yet stored when it binds a new token to the response.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any, TypeGuard

from litestar.connection import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from app.accounts.identity import SESSION_MEMBER_KEY
from app.core.i18n import _
from app.web.sessions import session_id_rotated

SESSION_TOKEN_KEY = "_csrf"


def _bound_token(session: object) -> str | None:
    token = session.get(SESSION_TOKEN_KEY) if isinstance(session, dict) else None
    return token if isinstance(token, str) else None


def _signed_in(session: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(session, dict) and session.get(SESSION_MEMBER_KEY) is not None


class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit check, with the token of a signed-in session kept in the session."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope=scope, receive=receive)
        cookie = request.cookies.get(self.config.cookie_name)
        session = scope.get("session")
        bound = _bound_token(session)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            if bound is None and _signed_in(session):  # signed in before tokens were bound: bind one
                session[SESSION_TOKEN_KEY] = generate_csrf_token(secret=self.config.secret)
            state.csrf_token = _bound_token(session) or cookie or generate_csrf_token(secret=self.config.secret)
        else:
            submitted = await self._submitted_token(request)
            if submitted is None or not self._accepts(submitted, cookie, bound):
                raise PermissionDeniedException(
                    _("This form has expired or came from another site. Reload the page and try again.")
                )
            state.csrf_token = submitted
        await self.app(scope, receive, self._binding_send(scope, send, cookie, bound))

    async def _submitted_token(self, request: Request[Any, Any, Any]) -> str | None:
        token = request.headers.get(self.config.header_name)
        content_type, _params = request.content_type
        if not token and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            value = (await request.form()).get("_csrf_token")
            token = value if isinstance(value, str) else None
        return token

    def _accepts(self, submitted: str, cookie: str | None, bound: str | None) -> bool:
        if cookie is None or not self._csrf_tokens_match(submitted, cookie):
            return False
        return bound is None or compare_digest(submitted, bound)

    def _binding_send(self, scope: Scope, send: Send, cookie: str | None, bound_before: str | None) -> Send:
        """``send``, setting the cookie to the token the session ends the request with."""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = self._token_to_send(scope, cookie, bound_before)
                if token is not None and token != cookie:
                    message.setdefault("headers", [])
                    self._set_cookie_if_needed(message=message, token=token)
            await send(message)

        return send_wrapper

    def _token_to_send(self, scope: Scope, cookie: str | None, bound_before: str | None) -> str | None:
        session = scope.get("session")
        if _signed_in(session) and (session_id_rotated(scope) or _bound_token(session) is None):
            token = generate_csrf_token(secret=self.config.secret)  # a new session, a new token
            session[SESSION_TOKEN_KEY] = token
            return token
        if bound := _bound_token(session):
            return bound
        if bound_before is not None:  # the session ended: its token goes with it
            return generate_csrf_token(secret=self.config.secret)
        issued = ScopeState.from_scope(scope).csrf_token  # a visitor's first page: Litestar's cookie
        return issued if cookie is None and isinstance(issued, str) else None
