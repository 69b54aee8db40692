"""Web hosts on one PostgreSQL database with no SECRET_KEY share one secret, kept in the database:
a form one host rendered passes its CSRF check on another, and hosts starting at the same moment
agree on the one secret written first. SQLite keeps its secret in ``var/secret_key``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.core.shared_secret import shared_secret_key, with_shared_secret
from app.settings import Settings, SettingsError
from tasks.web import create_app
from tests.helpers.backends import TEST_DATABASE_URL
from tests.helpers.factories import PASSWORD

on_postgresql = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL unset (PostgreSQL only)")


async def forget_the_shared_secret(app) -> None:
    async with app.state.database.transaction() as db:
        await db.execute(text("DELETE FROM shared_secrets"))


async def shared_secret_rows(app) -> list[str]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(text("SELECT value FROM shared_secrets"))).scalars())


def host(settings: Settings, var_dir: Path) -> Settings:
    """A web host's settings as ``Settings.from_env`` makes them from DATABASE_URL with no SECRET_KEY."""
    env = {"DATABASE_URL": settings.database_url, "SMORE_VAR_DIR": str(var_dir), "SANDBOX_GATEWAY": "1"}
    from_env = Settings.from_env(env)
    assert from_env.secret_key == ""  # read from the database when the app is built
    return settings.with_changes(secret_key=from_env.secret_key, var_dir=from_env.var_dir)


@on_postgresql
async def test_two_hosts_share_one_secret_and_accept_each_others_forms(app, settings, members, tmp_path):
    await forget_the_shared_secret(app)
    member = await members.create()
    host_a = create_app(host(settings, tmp_path / "a"))
    host_b = create_app(host(settings, tmp_path / "b"))
    secret = host_a.state.settings.secret_key
    assert len(secret) >= 32 and host_b.state.settings.secret_key == secret
    assert await shared_secret_rows(app) == [secret]
    assert not (tmp_path / "a" / "secret_key").exists() and not (tmp_path / "b" / "secret_key").exists()
    # A host that signs with a secret of its own refuses the same form: the check is real.
    host_c = create_app(settings.with_changes(secret_key="a-secret-of-host-c-" + "c" * 32, var_dir=tmp_path / "c"))

    async with (
        AsyncTestClient(app=host_a, base_url="http://shop.test") as a,
        AsyncTestClient(app=host_b, base_url="http://shop.test") as b,
        AsyncTestClient(app=host_c, base_url="http://shop.test") as c,
    ):
        assert (await a.get("/login")).status_code == 200
        token = a.cookies["csrftoken"]
        form = {"email": member.email, "password": PASSWORD, "_csrf_token": token}
        c.cookies.set("csrftoken", token)
        assert (await c.post("/login", data=form, follow_redirects=False)).status_code == 403
        b.cookies.set("csrftoken", token)
        signed_in = await b.post("/login", data=form, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text


@on_postgresql
async def test_ten_first_start_ups_at_once_agree_on_one_secret(app, settings, tmp_path):
    await forget_the_shared_secret(app)
    hosts = [host(settings, tmp_path / f"host{n}") for n in range(10)]
    start = threading.Barrier(len(hosts))

    def start_up(host_settings: Settings) -> str:
        start.wait(timeout=30)
        return shared_secret_key(host_settings)

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        secrets = list(pool.map(start_up, hosts))
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 32
    assert await shared_secret_rows(app) == secrets[:1]


@on_postgresql
def test_a_database_that_cannot_give_the_secret_stops_the_start_in_one_line(settings, tmp_path):
    missing = settings.database_url.rsplit("/", 1)[0] + "/smore_no_such_database"
    with pytest.raises(SettingsError, match="SECRET_KEY is unset") as refused:
        create_app(host(settings.with_changes(database_url=missing), tmp_path))
    assert "\n" not in str(refused.value)


def test_sqlite_keeps_its_secret_in_var_and_a_given_secret_is_kept(tmp_path):
    env = {"SMORE_VAR_DIR": str(tmp_path)}
    embedded = Settings.from_env(env)
    assert embedded.secret_key == (tmp_path / "secret_key").read_text().strip()
    assert with_shared_secret(embedded) is embedded
    given = Settings.from_env({**env, "DATABASE_URL": "postgres://db.internal/shop", "SECRET_KEY": "k" * 40})
    assert with_shared_secret(given).secret_key == "k" * 40
