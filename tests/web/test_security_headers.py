"""Security headers on every kind of response (pages, static files, uploads, error pages, the
sandbox gateway's window), HSTS only behind HTTPS, no inline code in any template, and the API
schema pages only for a developer."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from app.settings import PROJECT_ROOT
from tasks.web import create_app
from tests.helpers.orders import open_checkout
from tests.helpers.pictures import put_picture
from tests.helpers.web import login

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("content-security-policy", "")
    assert header, f"no Content-Security-Policy on {response.url}"
    return {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}


def assert_hardened(response) -> None:
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, response.status_code, name)
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    # the proof-of-work widget's worker is one of the shop's files: no blob: worker, no WASM
    assert csp["worker-src"] == ["'self'"] and "'wasm-unsafe-eval'" not in csp["script-src"]
    assert "strict-transport-security" not in response.headers


async def test_pages_get_a_policy_allowing_only_the_shops_own_scripts_and_styles(client, members):
    home = await client.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert_hardened(home)
    assert "'unsafe-inline'" not in home.headers["content-security-policy"]
    assert "'unsafe-eval'" not in home.headers["content-security-policy"]
    await login(client, (await members.create()).email)
    assert_hardened(await client.get("/me"))


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/static/css/smore.css", 200),
        ("/static/vendor/htmx-2.0.11.min.js", 200),
        ("/static/vendor/altcha-3.2.2-sha-worker.js", 200),
        ("/proof/challenge", 200),
        ("/static/no-such-file.js", 404),
        ("/no/such/page", 404),
        ("/orders", 303),  # anonymous: to the sign-in page
        ("/healthz", 200),
    ],
)
async def test_static_files_errors_and_redirects_get_the_headers_too(client, url, status):
    response = await client.get(url)
    assert response.status_code == status
    assert_hardened(response)


async def test_uploads_get_the_headers(client, app):
    name = "ab" * 32 + ".jpg"
    await put_picture(app, name, b"\xff\xd8\xff\xe0 not much of a picture")
    response = await client.get(f"/uploads/{name}")
    assert response.status_code == 200 and response.content.startswith(b"\xff\xd8")
    assert_hardened(response)
    assert_hardened(await client.get("/uploads/missing.jpg"))


async def test_a_refused_csrf_check_and_a_wrong_method_get_the_headers(client):
    refused = await client.post("/login", data={"email": "a@example.test", "password": "x"})
    assert refused.status_code == 403
    assert_hardened(refused)
    wrong_method = await client.delete("/")
    assert wrong_method.status_code == 405
    assert_hardened(wrong_method)


async def test_the_sandbox_checkout_window_gets_the_policy_and_needs_no_inline_style(client, app, members, products):
    _member, _order_id, _right, query = await open_checkout(client, app, members, products)
    page = await client.get("/sandbox-gateway/checkout", params={k: v[0] for k, v in query.items()})
    assert page.status_code == 200
    assert_hardened(page)
    assert '<link rel="stylesheet" href="/static/css/sandbox-pay.css">' in page.text
    assert "<style" not in page.text and "style=" not in page.text
    assert (await client.get("/static/css/sandbox-pay.css")).status_code == 200


async def test_hsts_is_sent_only_behind_https(settings):
    app = create_app(settings.with_changes(secure_cookies=True))
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as c:
        for url in ("/", "/static/css/smore.css", "/no/such/page"):
            response = await c.get(url)
            assert response.headers["strict-transport-security"] == "max-age=31536000", url
            assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_gateway_elsewhere_is_the_only_other_place_a_form_may_post_to(settings):
    app = create_app(settings.with_changes(payment_gateway_url="https://pay.example.test/v1/"))
    async with AsyncTestClient(app=app) as c:
        assert policy(await c.get("/"))["form-action"] == ["'self'", "https://pay.example.test"]


def test_no_template_carries_inline_script_or_style():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    inline_style = re.compile(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.I)
    offenders = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        html = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.S)  # comments are not sent
        if inline_script.search(html) or inline_style.search(html):
            offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


async def test_the_api_schema_pages_are_not_there_unless_debugging(settings):
    urls = ["/schema", "/schema/openapi.json", "/schema/swagger", "/schema/redoc"]
    async with AsyncTestClient(app=create_app(settings)) as c:
        for url in urls:
            hidden = await c.get(url)
            assert hidden.status_code == 404 and "text/html" in hidden.headers["content-type"], url
    async with AsyncTestClient(app=create_app(settings.with_changes(debug=True))) as c:
        for url in urls:
            assert (await c.get(url)).status_code == 200, url
