"""What a statement's result says, typed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.engine import CursorResult, Result


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (``execute`` returns a cursor result for one)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
