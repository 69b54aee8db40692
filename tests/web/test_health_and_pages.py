"""Health check, error pages and static assets."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tasks.web import create_app


async def test_healthz_names_backends_and_answers(client, settings):
    r = await client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == {
        "backend": "postgresql" if "postgresql" in settings.database_url else "sqlite",
        "ok": True,
    }
    expected_broker = "redis" if settings.redis_url else "stub"
    assert body["broker"] == {"backend": expected_broker, "ok": True}
    assert body["channels"]["backend"] == ("redis" if settings.redis_url else "memory")
    assert body["channels"]["ok"] is True


async def test_healthz_is_503_when_the_database_does_not_answer(settings, tmp_path):
    broken = settings.with_changes(database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite3")
    app = create_app(broken)
    async with AsyncTestClient(app=app) as c:
        r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["database"] == {"backend": "sqlite", "ok": False}


async def test_unknown_page_is_an_html_404(client):
    r = await client.get("/no/such/page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "could not find" in r.text


async def test_unknown_method_is_an_html_error(client):
    r = await client.put("/login")
    assert r.status_code in (403, 405)
    assert "text/html" in r.headers["content-type"]


async def test_htmx_is_vendored_and_pinned(client):
    page = await client.get("/")
    assert "/static/vendor/htmx-2.0.11.min.js" in page.text
    r = await client.get("/static/vendor/htmx-2.0.11.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:2000]
    r = await client.get("/static/css/smore.css")
    assert r.status_code == 200


async def test_home_lists_root_categories_and_anonymous_nav(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert 'href="/login"' in r.text and 'href="/signup"' in r.text
    assert 'data-nav="admin"' not in r.text
