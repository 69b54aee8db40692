"""The cluster of tests/cluster: its processes, their configurations and their start-up (the
fixtures that start and stop it once per module are in tests/cluster/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from redis import Redis

from app.settings import SANDBOX_WEBHOOK_SECRET
from tests.helpers.procfile import ROOT, Process, procfile

POSTGRES = os.environ.get("CLUSTER_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/11")
DATABASE = "smore_cluster"
_SERVER = urlsplit(POSTGRES)
PG_USER, PG_HOST, PG_PORT = _SERVER.username or "postgres", _SERVER.hostname or "127.0.0.1", _SERVER.port or 5432
WEB_HOSTS = ("web1", "web2", "web3")
WORKERS = ("worker1", "worker2")
START_SECONDS = 60
# Short enough that expiries and sweeps happen within a test.
HOLD_SECONDS = 30


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail(f"{name} is not installed: run `make cluster-tools`")
    return found


def system_user() -> str | None:
    """The user PgBouncer drops to when started as root (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    for name in ("pgbouncer", "postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.fail("no system user for PgBouncer to run as")


@dataclass
class Cluster:
    folder: Path
    balancer: str
    database_url: str  # PostgreSQL itself (the tests' own reads and writes)
    pooled_url: str  # through PgBouncer (the shop's processes)
    web: dict[str, Process] = field(default_factory=dict)
    workers: dict[str, Process] = field(default_factory=dict)
    others: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    def processes(self) -> list[Process]:
        return [*self.web.values(), *self.workers.values(), *self.others]

    def logs(self, tail: int = 4000) -> list[tuple[str, str]]:
        return [(p.name, p.output()[-tail:]) for p in self.processes()]

    def kill_web(self, name: str) -> None:
        """SIGKILL to the host's whole process group: no clean shutdown, as if the machine died."""
        process = self.web[name]
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)


def launch(name: str, command: list[str] | str, folder: Path, env: dict[str, str]) -> Process:
    log = folder / f"{name}.log"
    out = log.open("ab")
    args = ["/bin/sh", "-c", f"exec {command}"] if isinstance(command, str) else command
    popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    out.close()
    return Process(name, popen, log)


def stop(processes: list[Process]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=10)


async def recreate_database(drop_only: bool = False) -> None:
    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        if not drop_only:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def base_env() -> dict[str, str]:
    """The test's environment without the suite's or a shop's own settings."""
    drop = ("TEST_", "DATABASE_", "REDIS_", "SECRET_KEY", "SMORE_", "PROMETHEUS_", "OTEL_", "PAYMENT_", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pgbouncer_config(folder: Path, port: int) -> Path:
    (folder / "userlist.txt").write_text(f'"{PG_USER}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{DATABASE} = host={PG_HOST} port={PG_PORT} dbname={DATABASE} user={PG_USER}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
reserve_pool_size = 5
server_reset_query =
ignore_startup_parameters = extra_float_digits
"""
    )
    for path in (folder, ini, folder / "userlist.txt"):  # read by the user PgBouncer runs as
        path.chmod(0o755 if path.is_dir() else 0o644)
    return ini


def haproxy_config(folder: Path, port: int, web_ports: dict[str, int]) -> Path:
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} check" for name, p in web_ports.items())
    cfg = folder / "haproxy.cfg"
    cfg.write_text(
        f"""global
    maxconn 4000
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    # a live stream (SSE) is a response that never ends: its ': ping' every 15 s keeps it within the
    # client and server timeouts, and a connection that turns into a tunnel may stay an hour
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout queue 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
    retries 3
    option redispatch

frontend shop
    bind 127.0.0.1:{port}
    option forwardfor
    default_backend web

backend web
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
    http-response set-header X-Served-By %s
{servers}
"""
    )
    return cfg


async def wait_until(check, seconds: float, what: str, processes: list[Process]) -> None:
    deadline = time.monotonic() + seconds
    while True:
        for process in processes:
            assert process.alive(), f"{process.name} exited:\n{process.output()[-3000:]}"
        with contextlib.suppress(httpx.HTTPError, OSError):
            if await check():
                return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def start_cluster(cluster: Cluster) -> None:
    folder = cluster.folder
    ports = cluster.ports
    await recreate_database()
    env = base_env()
    release = launch("release", procfile()["release"], folder, env | {"DATABASE_URL": cluster.database_url})
    assert release.popen.wait(timeout=120) == 0, f"the migrations failed:\n{release.output()}"
    Redis.from_url(REDIS).flushdb()

    pgbouncer = [tool("pgbouncer")]
    if user := system_user():
        pgbouncer += ["-u", user]
    cluster.others.append(
        launch("pgbouncer", [*pgbouncer, str(pgbouncer_config(folder, ports["pgbouncer"]))], folder, env)
    )

    async def pooled() -> bool:
        conn = await asyncpg.connect(cluster.pooled_url, statement_cache_size=0)
        await conn.close()
        return True

    await wait_until(pooled, 20, "PgBouncer", cluster.others)

    shop = env | {
        "DATABASE_URL": cluster.pooled_url,
        "DATABASE_PGBOUNCER": "1",
        "REDIS_URL": REDIS,
        "TRUSTED_PROXIES": "127.0.0.1",
        "PICTURE_STORAGE": "database",
        # the sandbox gateway every host mounts, reached (by browsers and by the hosts) through the balancer
        "SANDBOX_GATEWAY": "1",
        "PAYMENT_GATEWAY_URL": f"{cluster.balancer}/sandbox-gateway",
        "PAYMENT_WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET,
        "PUBLIC_URL": cluster.balancer,
        "PURCHASE_HOLD_SECONDS": str(HOLD_SECONDS),
        "SWEEP_SECONDS": "2",
        "EVENT_RESEND_SECONDS": "3",
        "DB_POOL_SIZE": "5",
        "DB_MAX_OVERFLOW": "10",
    }
    for name in WEB_HOSTS:
        var = folder / name
        var.mkdir()
        host = shop | {"SMORE_VAR_DIR": str(var), "PORT": str(ports[name]), "WEB_CONCURRENCY": "1"}
        cluster.web[name] = launch(name, procfile()["web"], folder, host)
    for name in WORKERS:
        var = folder / name
        var.mkdir()
        worker = shop | {
            "SMORE_VAR_DIR": str(var),
            "WORKER_PROCESSES": "1",
            "WORKER_THREADS": "4",
            "WORKER_METRICS_PORT": str(ports[name]),
        }
        cluster.workers[name] = launch(name, procfile()["worker"], folder, worker)

    async with httpx.AsyncClient(timeout=5) as client:
        for name in WEB_HOSTS:

            async def healthy(port: int = ports[name]) -> bool:
                return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200

            await wait_until(healthy, START_SECONDS, f"{name} to start", cluster.processes())
        for process in cluster.workers.values():

            async def ready(process: Process = process) -> bool:
                return "Worker process is ready for action." in process.output()

            await wait_until(ready, START_SECONDS, f"{process.name} to start", cluster.processes())

        config = haproxy_config(folder, ports["haproxy"], {name: ports[name] for name in WEB_HOSTS})
        cluster.others.append(launch("haproxy", [tool("haproxy"), "-db", "-f", str(config)], folder, env))
        seen: set[str] = set()

        async def every_host_answers() -> bool:
            response = await client.get(f"{cluster.balancer}/healthz")
            if response.status_code == 200:
                seen.add(response.headers["x-served-by"])
            return seen == set(WEB_HOSTS)

        await wait_until(every_host_answers, 20, "the balancer to reach every host", cluster.processes())
