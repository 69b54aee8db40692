"""What the configured process writes: one JSON object per line with the time in UTC, the level,
the logger and the event, then the bound context and the active span's ids; or readable lines.
Every logger goes through it (the shop's, structlog's, uvicorn's); uvicorn's access log and
SQLAlchemy's statements stay out; secrets are scrubbed and tracebacks carry no local variables."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from app.observability.logs import bind_member, configure_logging
from app.observability.redaction import REDACTED
from app.settings import SANDBOX_SECRET_KEY, Settings


def _settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(database_url="sqlite+aiosqlite:///unused", secret_key="unit-secret-" + "k" * 32, var_dir=tmp_path)
    return base.with_changes(**changes)


@pytest.fixture
def lines(tmp_path: Path) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging(_settings(tmp_path, log_format="json", log_level="DEBUG"), stream=buffer)
    structlog.contextvars.clear_contextvars()
    yield buffer
    structlog.contextvars.clear_contextvars()
    configure_logging(_settings(tmp_path))


def parsed(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_stdlib_line_and_a_structlog_line_have_the_same_shape(lines):
    logging.getLogger("app.somewhere").info("sold %d of %d", 3, 5)
    structlog.get_logger("app.elsewhere").warning("gate drift", product_id=4)
    plain, structured = parsed(lines)
    assert list(plain)[:4] == list(structured)[:4] == ["timestamp", "level", "logger", "event"]
    assert plain["event"] == "sold 3 of 5" and plain["level"] == "info" and plain["logger"] == "app.somewhere"
    assert structured["event"] == "gate drift" and structured["level"] == "warning" and structured["product_id"] == 4
    assert plain["timestamp"].endswith("Z") and "T" in plain["timestamp"]


def test_the_bound_context_is_on_every_line_until_cleared(lines):
    structlog.contextvars.bind_contextvars(request_id="r-1")
    bind_member(42)
    logging.getLogger("app.x").info("with a member")
    bind_member(None)
    logging.getLogger("app.x").info("without")
    structlog.contextvars.clear_contextvars()
    logging.getLogger("app.x").info("after")
    first, second, third = parsed(lines)
    assert (first["request_id"], first["member_id"]) == ("r-1", 42)
    assert second["request_id"] == "r-1" and "member_id" not in second
    assert "request_id" not in third


def test_an_active_span_puts_its_ids_on_the_line_and_none_without_one(lines):
    logging.getLogger("app.x").info("no span")
    context = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(context)):
        logging.getLogger("app.x").info("in a span")
    outside, inside = parsed(lines)
    assert "trace_id" not in outside and "span_id" not in outside  # the API alone: an invalid span
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and inside["span_id"] == "00f067aa0ba902b7"


def test_libraries_come_through_but_not_uvicorns_access_log_nor_sql(lines):
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT INTO mail_outbox (body) VALUES (?)")
    logging.getLogger("dramatiq.worker.Worker").info("Worker has been shut down.")
    assert [(line["logger"], line["event"]) for line in parsed(lines)] == [
        ("uvicorn.error", "Application startup complete."),
        ("dramatiq.worker.Worker", "Worker has been shut down."),
    ]


def test_secrets_are_redacted_and_tracebacks_carry_no_locals(lines):
    log = logging.getLogger("app.x")
    log.info("calling the gateway with %s", SANDBOX_SECRET_KEY)
    structlog.get_logger("app.x").info("form", password="hunter2-hunter2", email="a@example.test")

    def fail(password: str) -> None:
        raise ValueError("refused")

    typed = "-".join(["hunter3"] * 2)  # a local of the caller and an argument: neither is shown
    try:
        fail(typed)
    except ValueError:
        log.exception("sign-in failed")
    gateway, form, failure = parsed(lines)
    assert gateway["event"] == f"calling the gateway with {REDACTED}"
    assert form["password"] == REDACTED and form["email"] == "a@example.test"
    assert "ValueError: refused" in failure["exception"] and "Traceback" in failure["exception"]
    text = lines.getvalue()
    assert SANDBOX_SECRET_KEY not in text and "hunter2" not in text and "hunter3" not in text


def test_the_default_is_readable_lines(tmp_path):
    buffer = io.StringIO()
    configure_logging(_settings(tmp_path), stream=buffer)
    try:
        structlog.contextvars.bind_contextvars(request_id="r-9")
        logging.getLogger("app.x").info("hello there")
        logging.getLogger("app.x").debug("not at INFO")
    finally:
        structlog.contextvars.clear_contextvars()
        configure_logging(_settings(tmp_path))
    (line,) = buffer.getvalue().splitlines()
    assert "hello there" in line and "[app.x]" in line and "request_id=r-9" in line and "info" in line
    assert not line.startswith("{")


def test_configuring_again_replaces_the_handler_and_a_plain_one_put_before(tmp_path):
    root = logging.getLogger()
    plain = logging.StreamHandler(io.StringIO())
    root.addHandler(plain)  # as logging.basicConfig or Dramatiq's command line leave one
    first, second = io.StringIO(), io.StringIO()
    configure_logging(_settings(tmp_path, log_format="json"), stream=first)
    configure_logging(_settings(tmp_path, log_format="json"), stream=second)
    try:
        logging.getLogger("app.x").warning("once")
    finally:
        configure_logging(_settings(tmp_path))
    assert plain not in root.handlers
    assert first.getvalue() == "" and plain.stream.getvalue() == ""
    assert json.loads(second.getvalue())["event"] == "once"
