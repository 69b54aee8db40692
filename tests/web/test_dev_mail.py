"""``/dev/mail`` exists only in the embedded default (SQLite, no Redis) or with DEBUG: on the
suite's PostgreSQL + Redis settings it is a 404, on its SQLite settings the outbox page."""

from __future__ import annotations

from app.asgi import _route_handlers
from app.mail.controllers import DevMailController


async def test_dev_mail_is_there_only_in_the_embedded_default_or_with_debug(client, settings):
    assert not settings.debug
    r = await client.get("/dev/mail")
    assert r.status_code == (200 if settings.embedded else 404)
    assert ("Mail outbox" in r.text) is settings.embedded
    # a database server or Redis, and no DEBUG: no route at all; DEBUG brings it back
    production = settings.with_changes(redis_url="redis://127.0.0.1:6379/0")
    assert not production.embedded and DevMailController not in _route_handlers(production)
    assert DevMailController in _route_handlers(production.with_changes(debug=True))
