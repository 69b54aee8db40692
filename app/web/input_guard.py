"""What no handler should have to check: a request address with a control character in its path or
a NUL in its query (no file or page has one; PostgreSQL cannot even store a NUL) is a 400, and a
path id that is not plain ASCII digits within ``1..MAX_ID`` is a 404 before the handler runs
(``int()`` reads ``"٣"`` as 3, and an id above 2^31 overflows the database's integer)."""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import ClientException, NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

from app.core.i18n import Msg
from app.core.numbers import is_id

BAD_ADDRESS = Msg(
    "This address contains a character no page of the shop has (a control character). Nothing was changed."
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,10}")


def _bad_address(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return bool(_CONTROL.search(scope.get("path", ""))) or b"%00" in query or b"\x00" in query


# What a path id names (its parameter's name without ``_id``, or for a bare ``target_id`` the path
# segment before it, made singular): the whole sentence, so that every language can say it its way.
NOT_FOUND = {
    "application": Msg("This seller application does not exist."),
    "auction": Msg("This auction does not exist."),
    "category": Msg("This category does not exist."),
    "event": Msg("This event does not exist."),
    "member": Msg("This member does not exist."),
    "notification": Msg("This notification does not exist."),
    "order": Msg("This order does not exist."),
    "payment": Msg("This payment does not exist."),
    "product": Msg("This product does not exist."),
    "purchase": Msg("This purchase right does not exist."),
    "refund": Msg("This refund does not exist."),
    "right": Msg("This purchase right does not exist."),
    "seller": Msg("This seller does not exist."),
}
NO_SUCH_PAGE = Msg("This page does not exist.")


def _bad_path_id(scope: Scope) -> str | None:
    """The parameter whose id cannot exist, or None."""
    params: dict[str, Any] = scope.get("path_params") or {}
    ints = {name: value for name, value in params.items() if isinstance(value, int) and not isinstance(value, bool)}
    template, path = scope.get("path_template", "").split("/"), scope.get("path", "").split("/")
    typed = dict(zip(template, path, strict=False)) if len(template) == len(path) else {}
    for name, value in ints.items():
        if not is_id(value) or not _DIGITS.fullmatch(typed.get("{" + name + "}", "0")):
            return name
    return None


def _missing(scope: Scope, name: str) -> str:
    """“This member does not exist.”: the noun from the parameter (``member_id``), or for a bare
    ``target_id`` from the path segment before it (``/admin/members/{target_id}/suspend``)."""
    noun = name.removesuffix("_id").replace("_", " ")
    if noun == "target":
        template = scope.get("path_template", "").split("/")
        before = template.index("{" + name + "}") - 1 if "{" + name + "}" in template else 0
        noun = template[before].removesuffix("s") if before > 0 else "page"
    return str(NOT_FOUND.get(noun, NO_SUCH_PAGE))


class InputGuardMiddleware:
    """Refuse impossible addresses before any handler, session or database sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            if _bad_address(scope):
                raise ClientException(str(BAD_ADDRESS))
            if (name := _bad_path_id(scope)) is not None:
                raise NotFoundException(_missing(scope, name))
        await self.app(scope, receive, send)
