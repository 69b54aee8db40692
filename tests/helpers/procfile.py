"""The Procfile's processes, started as a platform starts them (a shell, a process group of their
own, the suite's database and Redis), their output in a log."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.backends import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.helpers.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
needs_redis = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL), reason="a separate worker process needs PostgreSQL and Redis"
)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if re.match(r"^\w+: ", line))


@dataclass
class Process:
    """One Procfile entry, run by a shell as a platform runs it, in a process group of its own."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        self.popen.poll()
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self) -> float:
        os.killpg(self.popen.pid, signal.SIGTERM)
        return time.monotonic()

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    async def gone_after(self, since: float, limit: float) -> float:
        """Seconds from ``since`` until no process of the group is left (SIGKILL after ``limit``)."""
        while self.alive():
            if time.monotonic() - since > limit:
                self.kill()
                raise AssertionError(f"{self.name} still running {limit:.0f} s after SIGTERM:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.05)
        return time.monotonic() - since


def start(name: str, settings, tmp_path: Path, **env: str) -> Process:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TEST_") and k != "REDIS_URL"}
    full = base | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "SMORE_VAR_DIR": str(settings.var_dir),
        "SANDBOX_GATEWAY": "1",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    if settings.redis_url and "REDIS_URL" not in env:
        full["REDIS_URL"] = settings.redis_url
    log = tmp_path / f"{name}.log"
    out = log.open("ab")
    popen = subprocess.Popen(
        ["/bin/sh", "-c", f"exec {procfile()[name]}"],
        cwd=ROOT,
        env=full,
        stdout=out,
        stderr=out,
        start_new_session=True,
    )
    return Process(name, popen, log)


async def started(process: Process, marker: str, count: int = 1) -> None:
    async def ready() -> bool:
        assert process.alive(), f"{process.name} exited:\n{process.output()[-3000:]}"
        return process.output().count(marker) >= count

    await wait_for(ready, 60, f"{process.name} to start")
