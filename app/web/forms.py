"""Reading submitted forms: every value a stripped string, nothing trusted."""

from __future__ import annotations

from typing import Any

from litestar import Request


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
    return data


def parse_positive_int(raw: str | None, default: int = 1) -> int:
    """A page number or id from a query string; anything odd falls back to ``default``."""
    try:
        value = int(raw or default)
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default
