"""The search indexer: a thread of its own, with its own event loop and its own ``Database``, that
drains ``search_pending`` into the index (``indexer.index_pending``). It runs where the index is
written: in each worker process, and in the web process of the embedded default (its in-process
worker); it starts and stops with the worker.

It is woken after every commit in its process that marked products, and also looks every
``POLL_SECONDS`` (marks made by another process, or left by one that stopped). It never blocks
anything else: a busy writer is tried again after ``BUSY_RETRY_SECONDS``, a failure after a
growing pause, and the marks wait in the database meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from whoosh.index import LockError

from app.db import Database
from app.search.index import get_index
from app.search.indexer import BATCH, add_waker, index_pending, remove_waker
from app.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
COALESCE_SECONDS = 0.05  # after a wake-up, let the marks of a burst gather into one batch
BUSY_RETRY_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
STOP_SECONDS = 5.0


class SearchIndexer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="search-indexer", daemon=True)
        self._thread.start()
        self._started.wait(timeout=5)
        add_waker(self.wake)

    def wake(self) -> None:
        """Thread-safe: look for marks now."""
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None:
            with contextlib.suppress(RuntimeError):  # the loop has just closed
                loop.call_soon_threadsafe(wakeup.set)

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Ask the thread to finish (a batch under way completes) and wait for it; True when it did."""
        remove_waker(self.wake)
        thread = self._thread
        if thread is None:
            return True
        self._stopping.set()
        self.wake()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the search indexer did not stop within %.0f s", timeout)
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # pragma: no cover - _main handles its own errors
            log.exception("the search indexer stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._started.set()
        # Its own small pool: one batch at a time needs one connection (the README's budget).
        database = Database(self.settings.with_changes(db_pool_size=2, db_max_overflow=0))
        failures = busy = 0
        pause, wakeable = 0.0, True  # the first round at once: marks left from before the start
        try:
            while not self._stopping.is_set():
                if pause:
                    await self._pause(pause, wakeable)
                    if self._stopping.is_set():
                        break
                try:
                    done = await index_pending(database, get_index(self.settings.search_path))
                except LockError:
                    busy += 1  # a rebuild holds it for a while: say so once
                    log.log(logging.INFO if busy == 1 else logging.DEBUG, "the search index writer is busy; waiting")
                    pause, wakeable = BUSY_RETRY_SECONDS, False
                    continue
                except Exception:
                    failures += 1
                    pause, wakeable = min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2**failures), False
                    log.exception("search indexing failed (%d in a row); trying again in %.1f s", failures, pause)
                    continue
                failures = busy = 0
                # after a full batch more may be waiting: go on at once
                pause, wakeable = (0.0 if done >= BATCH else POLL_SECONDS), True
        finally:
            self._loop = None
            await database.dispose()

    async def _pause(self, seconds: float, wakeable: bool) -> None:
        """Wait ``seconds``, or less when woken (if ``wakeable``) or stopped."""
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stopping.is_set() and (left := deadline - loop.time()) > 0:
            woken = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=left)
                woken = True
            self._wakeup.clear()
            if woken and wakeable and not self._stopping.is_set():
                await asyncio.sleep(COALESCE_SECONDS)
                return
