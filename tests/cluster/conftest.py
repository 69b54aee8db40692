"""Several hosts on one machine, started once per module: PgBouncer (transaction pooling) in front of
PostgreSQL, three web processes and two Dramatiq workers as the Procfile starts them, each with a
folder of its own and no SECRET_KEY, and HAProxy (round robin, no stickiness) in front of the web
processes, naming the server that answered in ``X-Served-By``.

The tests reach the shop through the balancer only; they read and seed the database directly (the
``shop`` fixture). Every process's output goes to a file of its own; a failed test shows the end of
each, and everything is stopped and the database dropped even when a test fails.

``CLUSTER_POSTGRES_URL`` (the server; default postgresql://postgres@127.0.0.1:5432, trust auth) and
``CLUSTER_REDIS_URL`` (default redis://127.0.0.1:6379/11) choose where; the database is
``smore_cluster``, dropped and created again."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from redis import Redis

from app.settings import Settings
from tasks.web import create_app
from tests.helpers.backends import _free_port
from tests.helpers.cluster import (
    DATABASE,
    PG_USER,
    POSTGRES,
    REDIS,
    WEB_HOSTS,
    WORKERS,
    Cluster,
    recreate_database,
    start_cluster,
    stop,
)
from tests.helpers.factories import MemberFactory, ProductFactory


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    names = ("pgbouncer", "haproxy", *WEB_HOSTS, *WORKERS)
    ports = {name: _free_port() for name in names}
    folder = Path(tempfile.mkdtemp(prefix="smore-cluster-"))
    started = Cluster(
        folder=folder,
        balancer=f"http://127.0.0.1:{ports['haproxy']}",
        database_url=f"{POSTGRES}/{DATABASE}",
        pooled_url=f"postgresql://{PG_USER}@127.0.0.1:{ports['pgbouncer']}/{DATABASE}",
        ports=ports,
    )
    try:
        try:
            asyncio.run(start_cluster(started))
        except BaseException:
            for name, text in started.logs():
                print(f"----- {name} -----\n{text}")
            raise
        yield started
    finally:
        # the balancer first, then the shop's processes, and PgBouncer once they have let go of it
        others = {p.name: p for p in started.others}
        stop([others["haproxy"]] if "haproxy" in others else [])
        stop([*started.web.values(), *started.workers.values()])
        stop([p for p in started.others if p.name != "haproxy"])
        with contextlib.suppress(Exception):
            asyncio.run(recreate_database(drop_only=True))
        with contextlib.suppress(Exception):
            Redis.from_url(REDIS).flushdb()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(cluster, Cluster):
        for name, text in cluster.logs():
            report.sections.append((f"cluster {name}.log (end)", text))


@pytest.fixture
async def shop(cluster: Cluster, tmp_path: Path) -> AsyncIterator[Litestar]:
    """An app on the cluster's database (straight to PostgreSQL) for set-up and checks; it serves
    nothing and runs no background work."""
    settings = Settings(
        database_url=cluster.database_url.replace("postgresql://", "postgresql+asyncpg://"),
        secret_key="cluster-test-" + "x" * 32,
        var_dir=tmp_path,
        redis_url=REDIS,
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        in_process_worker=False,
        background_jobs=False,
        database_null_pool=True,
        picture_storage="database",
    )
    app = create_app(settings)
    yield app
    await app.state.database.dispose()


@pytest.fixture
def members(shop: Litestar) -> MemberFactory:
    return MemberFactory(shop)


@pytest.fixture
def products(shop: Litestar) -> ProductFactory:
    return ProductFactory(shop)
