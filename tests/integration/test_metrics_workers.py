"""``uvicorn --workers 2``, as the Procfile runs the shop: each worker counts the requests it
answered in its own files of the server's metrics directory, and ``/metrics``, whichever worker
answers it, adds up both."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.helpers.backends import _free_port
from tests.helpers.metrics import BEARER, TOKEN, Scrape
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HOME = {"path": "/", "method": "GET", "status_code": "200"}


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def requests_of(directory: Path, pid: int, scratch: Path) -> float:
    """The home page's requests counted by the worker ``pid`` alone (its counter file)."""
    scratch.mkdir(exist_ok=True)
    for old in scratch.iterdir():
        old.unlink()
    source = directory / f"counter_{pid}.db"
    if not source.exists():
        return 0.0
    shutil.copy(source, scratch / source.name)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(scratch))  # type: ignore[no-untyped-call]
    return Scrape(generate_latest(registry).decode()).value("smore_requests_total", **HOME)


@pytest.mark.timeout(180)
async def test_two_workers_count_apart_and_metrics_adds_them_up(settings, app, tmp_path):  # app: a clean database
    port = _free_port()
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "SMORE_VAR_DIR": str(var_dir),
        "SANDBOX_GATEWAY": "1",
        "METRICS_TOKEN": TOKEN,
        "PORT": str(port),
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    command = ["uvicorn", "tasks.web:create_app", "--factory", "--workers", "2", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-proxy-headers", "--log-level", "warning"]
    server = _serve(command, env, tmp_path / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            workers = await _started(client, server, tmp_path)
            directory = var_dir / "prometheus" / f"web-{server.pid}"
            assert sorted(int(p.name) for p in (directory / "pids").iterdir()) == sorted(workers)
            sent = 0
            for _round in range(10):  # new connections, at once: both workers accept some
                answers = await asyncio.gather(*(client.get("/") for _ in range(30)))
                assert {r.status_code for r in answers} == {200}
                sent += len(answers)
                if all(requests_of(directory, pid, tmp_path / "one") for pid in workers):
                    break
            per_worker = [requests_of(directory, pid, tmp_path / "one") for pid in workers]
            assert all(per_worker), f"one worker answered every request: {per_worker}"
            for _scrape in range(4):  # whichever worker answers the scrape, the sum is the same
                r = await client.get("/metrics", headers=BEARER)
                assert r.status_code == 200
                assert Scrape(r.text).value("smore_requests_total", **HOME) == sent == sum(per_worker)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _serve(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The server in a process group of its own, its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)


async def _started(client: httpx.AsyncClient, server: subprocess.Popen[bytes], tmp_path: Path) -> list[int]:
    async def up() -> list[int] | None:
        assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
        try:
            if (await client.get("/healthz")).status_code != 200:
                return None
        except httpx.HTTPError:
            return None
        pids = tmp_path / "var" / "prometheus" / f"web-{server.pid}" / "pids"
        workers = [p for p in children(server.pid) if (pids / str(p)).exists()]  # not the resource tracker
        return workers if len(workers) == 2 else None

    workers = await wait_for(up, 90, "two workers to start")
    await asyncio.sleep(2)  # the second one's start-up may still be under way
    return workers
