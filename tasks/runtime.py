"""What actors share inside one process: settings, the scheduler, and a database engine for the
event loop that Dramatiq's AsyncIO middleware runs them on (async drivers bind connections to one
loop, so the web app's engine is never reused here)."""

from __future__ import annotations

import asyncio
from typing import Any

from app.core.scheduling import Scheduler
from app.db import Database
from app.settings import Settings

_settings: list[Settings] = []
_scheduler: list[Scheduler] = []
_databases: dict[int, Database] = {}


def init_runtime(settings: Settings, scheduler: Scheduler) -> None:
    """Called by whoever builds the process (``tasks.web``, ``tasks.worker``)."""
    _settings[:] = [settings]
    _scheduler[:] = [scheduler]
    _databases.clear()


def settings() -> Settings:
    if not _settings:
        raise RuntimeError("tasks.runtime.init_runtime() was not called in this process")
    return _settings[0]


def database() -> Database:
    """The running loop's ``Database``; its units of work defer work through the process's scheduler."""
    loop_id = id(asyncio.get_running_loop())
    db = _databases.get(loop_id)
    if db is None:
        db = _databases[loop_id] = Database(settings(), scheduler=_scheduler[0])
    return db


async def dispose_database() -> None:
    """Close the connections of the running loop's engine (a worker's stop hook)."""
    db = _databases.pop(id(asyncio.get_running_loop()), None)
    if db is not None:
        await db.dispose()


_gateway_transport: list[Any] = [None]


def set_gateway_transport(transport: Any) -> None:
    """Reach the payment gateway through ``transport`` (an httpx transport) instead of the network:
    tests point it at the app's own sandbox gateway when no server is listening."""
    _gateway_transport[0] = transport


def gateway_transport() -> Any:
    return _gateway_transport[0]
