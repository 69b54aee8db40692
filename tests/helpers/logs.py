"""The process's log as a test reads it: every line the app writes, in JSON, into a buffer, with
the app's own configuration (``app.observability.logs.configure_logging``), parsed line by line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.observability.logs import configure_logging
from app.settings import Settings


class CapturedLog:
    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line as its JSON object (a line that is not one fails the test)."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        """The access lines, one per request."""
        return [line for line in self.lines() if line.get("logger") == "smore.access"]


@contextmanager
def captured_log(settings: Settings, level: str = "DEBUG") -> Iterator[CapturedLog]:
    """The process's log in JSON at ``level`` while the block runs; the settings' own after."""
    log = CapturedLog()
    configure_logging(settings.with_changes(log_format="json", log_level=level), stream=log.buffer)
    try:
        yield log
    finally:
        configure_logging(settings)
