"""SQLite's "database is locked" (its one writer busy past the timeout) is a 503 to try again, never a 500."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from app.db import _commit_failure_status, write_contention


def _error(message: str) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("UPDATE payments SET …", {}, sqlite3.OperationalError(message))


def test_a_locked_database_is_busy_and_other_errors_are_not():
    assert write_contention(_error("database is locked"))
    assert _commit_failure_status(_error("database is locked")) == 503
    assert not write_contention(_error("no such table: payments"))
    assert _commit_failure_status(_error("no such table: payments")) == 500
    assert not write_contention(ValueError("database is locked"))
