"""Request ids and access lines through the real app: a sane ``X-Request-ID`` is echoed, any other
replaced by a new id, and every response carries one (pages, error pages, unknown addresses,
static files); each request writes one JSON access line with its route template, status and
duration, its request id and (once signed in) the member's id; files and the health check write
none; Buy presses only at DEBUG."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.observability.logs import configure_logging
from app.settings import SettingsError
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.logs import captured_log
from tests.helpers.web import buy, login, post_form

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_sane_request_id_is_echoed_and_any_other_replaced(client):
    assert (await client.get("/", headers={"X-Request-ID": "lb-7f3a:42"})).headers["x-request-id"] == "lb-7f3a:42"
    for insane in ("has space", "x" * 129, "é-accent".encode(), "tab\tin"):
        answered = (await client.get("/", headers={"X-Request-ID": insane})).headers["x-request-id"]
        assert GENERATED.fullmatch(answered), insane
    first, second = (await client.get("/")).headers["x-request-id"], (await client.get("/")).headers["x-request-id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/products/999999", 404),
        ("GET", "/admin", 303),  # to the sign-in page
        ("POST", "/login", 403),  # no CSRF token
        ("GET", "/static/css/smore.css", 200),
        ("GET", "/healthz", 200),
    ],
)
async def test_every_kind_of_answer_carries_its_request_id(client, method, path, status):
    r = await client.request(method, path, headers={"X-Request-ID": "trace-me-1"})
    assert r.status_code == status and r.headers["x-request-id"] == "trace-me-1"


async def test_each_request_writes_one_json_access_line(client, app):
    with captured_log(app.state.settings, "INFO") as log:
        page = await client.get("/", headers={"X-Request-ID": "home-1"})
        missing = await client.get("/products/999999")
        unknown = await client.get("/no/such/thing")
        await client.get("/static/css/smore.css")
        await client.get("/healthz")
    lines = log.requests()
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/", 200),
        ("/products/{product_id}", 404),
        (None, 404),
    ], "files and the health check write no line"
    home, product, nowhere = lines
    assert home["request_id"] == "home-1" == page.headers["x-request-id"]
    assert product["request_id"] == missing.headers["x-request-id"] and "path" not in product
    assert nowhere["path"] == "/no/such/thing" and nowhere["request_id"] == unknown.headers["x-request-id"]
    for line in lines:
        assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
        assert line["level"] == "info" and line["logger"] == "smore.access" and line["event"] == "request"
        assert line["method"] == "GET" and isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["timestamp"].endswith("Z")
        when = datetime.fromisoformat(line["timestamp"])
        assert when.utcoffset().total_seconds() == 0
        assert abs((datetime.now(UTC) - when).total_seconds()) < 60
        assert "member_id" not in line


async def test_lines_carry_the_member_once_signed_in_and_not_after_signing_out(client, app, members):
    member = await members.create()
    with captured_log(app.state.settings, "INFO") as log:
        await client.get("/login")
        await login(client, member.email)
        await client.get("/me")
        await post_form(client, "/logout")
        await client.get("/")
    lines = log.requests()
    assert [(line["method"], line["route"]) for line in lines] == [
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/me"),
        ("POST", "/logout"),
        ("GET", "/"),
    ]
    assert [line.get("member_id") for line in lines] == [None, member.id, member.id, None, None]
    # the app's own lines within a request carry its id too (here: nothing but the access lines
    # is logged at INFO, so every line is one)
    assert all(line.get("request_id") for line in log.lines() if line["logger"].startswith(("app.", "smore.")))


async def test_a_buy_press_writes_no_line_at_info_and_one_at_debug(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    shopper = await members.create()
    await login(client, shopper.email)
    with captured_log(app.state.settings, "INFO") as quiet:
        assert (await buy(client, product.id, key())).status_code == 200
    assert [line["route"] for line in quiet.requests()] == []
    with captured_log(app.state.settings, "DEBUG") as loud:
        assert (await buy(client, product.id, key())).status_code == 200
    (press,) = [line for line in loud.requests() if line["route"] == "/products/{product_id}/buy"]
    assert press["level"] == "debug" and press["method"] == "POST" and press["status"] == 200


def test_an_unknown_log_format_or_level_stops_the_start(settings):
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        configure_logging(settings.with_changes(log_format="xml"))
    with pytest.raises(SettingsError, match="LOG_LEVEL"):
        configure_logging(settings.with_changes(log_level="chatty"))
