"""Watching the SQL the app's engine runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, select

WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|REPLACE\s+INTO|MERGE\s+INTO)\b", re.I)


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app's engine executes meanwhile."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def count_by(db, column, *where) -> dict:
    """How many rows ``where`` selects have each value of ``column``."""
    return dict((await db.execute(select(column, func.count()).where(*where).group_by(column))).all())
