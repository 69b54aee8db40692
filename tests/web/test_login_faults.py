"""A login that ends in a server error gives its throttle slots back: faults never lock a shared
address (or an email) out. Through the app, with the database not answering or the password
hasher failing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from app.db import Database
from tests.helpers.backends import _free_port
from tests.helpers.factories import PASSWORD
from tests.helpers.web import post_form


@pytest.fixture
def settings(settings):
    return settings.with_changes(login_failures_per_pair=2, login_failures_per_address=3)


class FailingHasher:
    """A password hasher that fails (its library raising, the process out of memory)."""

    async def verify(self, password: str, password_hash: str | None) -> bool:
        raise RuntimeError("the password hasher failed")


def unreachable(settings) -> Database:
    if settings.database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{settings.var_dir}/no-such-directory/smore.sqlite3"
    else:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/smore"  # nothing listens there
    return Database(settings.with_changes(database_url=url))


@contextmanager
def fault(app, kind: str):
    name, broken = ("database", unreachable(app.state.settings)) if kind == "database" else ("hasher", FailingHasher())
    saved = getattr(app.state, name)
    setattr(app.state, name, broken)
    try:
        yield
    finally:
        setattr(app.state, name, saved)


@pytest.mark.parametrize("kind", ["database", "hasher"])
async def test_a_server_error_during_login_gives_the_attempt_back(client, app, members, settings, kind):
    await members.create("real@example.test")
    await post_form(client, "/login", {"email": "nobody@example.test", "password": "wrong-password-123"})
    # one refused password above; now more faulty attempts than either limit allows
    with fault(app, kind):
        for i in range(settings.login_failures_per_address + 2):
            email = "real@example.test" if i % 2 else f"someone{i}@example.test"
            r = await post_form(client, "/login", {"email": email, "password": PASSWORD})
            assert r.status_code == 500, r.text
            assert "Too many" not in r.text
    # afterwards the address still has every attempt the refused password left it
    for i in range(settings.login_failures_per_address - 2):
        r = await post_form(client, "/login", {"email": f"guess{i}@example.test", "password": "wrong-password-123"})
        assert r.status_code == 400
    r = await post_form(client, "/login", {"email": "real@example.test", "password": PASSWORD})
    assert r.status_code == 303, r.text
    assert (await client.get("/me")).status_code == 200
