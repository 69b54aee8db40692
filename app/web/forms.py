"""Reading submitted forms: every value a stripped string, nothing trusted."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

from app.core.i18n import Msg
from app.core.numbers import parse_id

NUL_IN_FORM = Msg("The form contained a NUL character, which no field accepts. Nothing was saved.")


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as stripped strings (the CSRF token removed). Oversized values are
    kept whole so the rule that checks the field can refuse them by name."""
    form = await request.form()
    data: dict[str, str] = {}
    for key in form:
        if key == "_csrf_token":
            continue
        value = form.get(key)
        data[key] = value.strip() if isinstance(value, str) else ""
        if "\x00" in data[key]:  # no field takes one, and PostgreSQL cannot store it
            raise ClientException(str(NUL_IN_FORM))
    return data


def parse_positive_int(raw: str | None, default: int = 1) -> int:
    """A page number or id from a query string (ASCII digits, ``1..MAX_ID``); anything odd falls
    back to ``default``."""
    return parse_id(raw) or default
