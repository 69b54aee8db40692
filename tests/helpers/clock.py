"""The fixed moment the pure-rule tests decide at, so what they expect never depends on the real
clock, and the end of the auction those tests bid in, ten minutes later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
END = NOW + timedelta(minutes=10)
