"""Where the processes of one server write their metrics (prometheus_client's multiprocess mode).

Every web worker (``uvicorn --workers N``) and every Dramatiq worker process keeps its counters in
memory-mapped files of one directory, and ``/metrics`` (or the worker's endpoint) adds up the files
of all of them, so a scrape that reaches any one process sees the whole server. prometheus_client
reads ``PROMETHEUS_MULTIPROC_DIR`` once, when it is first imported: the composition roots
(``tasks.web``, ``tasks.worker``) call ``prepare_metrics_directory`` before importing anything else.

- ``PROMETHEUS_MULTIPROC_DIR`` set by the operator: that directory.
- Unset: ``$SMORE_VAR_DIR/prometheus/<role>-<pid>``, where the pid is the supervisor's (uvicorn's or
  Dramatiq's main process, so that its workers share one directory) or the process's own when it
  runs alone. Directories left by servers that are gone are deleted.

A process joining a directory writes its pid under ``pids/``. The first of a run (no pid there
still alive) wipes what an earlier run left; a later one only clears the live gauges of processes
that died (a worker restarted by its supervisor), whose counters keep counting in the total.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import multiprocessing
import os
import shutil
from collections.abc import Iterator, MutableMapping
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Set beside ENV when the shop chose the directory itself: a process started by such a process
# (a test starting a server, a benchmark) chooses its own instead of writing into its parent's.
CHOSEN_BY = "SMORE_METRICS_DIR_CHOSEN_BY"


def prepare_metrics_directory(role: str, env: MutableMapping[str, str] | None = None) -> Path:
    """Choose (and announce in ``env``) this process's metrics directory and join it."""
    env = os.environ if env is None else env
    given = env.get(ENV)
    if given and not env.get(CHOSEN_BY):
        directory = Path(given)
    else:
        directory = default_directory(role, env)
        env[ENV] = str(directory)
        env[CHOSEN_BY] = str(os.getpid())
        _remove_abandoned(directory.parent, keep=directory)
    join(directory)
    return directory


def default_directory(role: str, env: MutableMapping[str, str]) -> Path:
    parent = multiprocessing.parent_process()
    group = parent.pid if parent is not None and parent.pid is not None else os.getpid()
    var_dir = Path(env.get("SMORE_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
    return var_dir.resolve() / "prometheus" / f"{role}-{group}"


def join(directory: Path) -> None:
    """Register this process in ``directory``: wipe it first if no process of it is alive; clear
    the live gauges of the dead ones. Leaving (at exit) clears this process's own."""
    pids = directory / "pids"
    pids.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        alive = False
        for marker in pids.iterdir():
            pid = int(marker.name) if marker.name.isdigit() else 0
            if pid and pid != os.getpid() and is_alive(pid):
                alive = True
                continue
            _mark_dead(pid, directory)
            marker.unlink(missing_ok=True)
        if not alive:
            for leftover in directory.glob("*.db"):
                leftover.unlink(missing_ok=True)
        (pids / str(os.getpid())).touch()
    atexit.register(leave, directory, os.getpid())


def leave(directory: Path, pid: int) -> None:
    if os.getpid() != pid:  # a forked child inherits the handler; it leaves only its own record
        return
    with contextlib.suppress(OSError), _locked(directory):
        _mark_dead(pid, directory)
        (directory / "pids" / str(pid)).unlink(missing_ok=True)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mark_dead(pid: int, directory: Path) -> None:
    if pid:
        from prometheus_client import multiprocess  # only now: ENV is set

        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_abandoned(root: Path, keep: Path) -> None:
    """Default directories whose server is gone (its supervisor and every process of it dead)."""
    if not root.is_dir():
        return
    for directory in root.iterdir():
        _role, _, group = directory.name.rpartition("-")
        if directory == keep or not group.isdigit() or is_alive(int(group)):
            continue
        pids = directory / "pids"
        members = [int(p.name) for p in pids.iterdir() if p.name.isdigit()] if pids.is_dir() else []
        if not any(is_alive(pid) for pid in members):
            shutil.rmtree(directory, ignore_errors=True)
