"""Run the search indexer where events are handled: it starts when a Dramatiq worker boots (the
``dramatiq tasks.worker`` process, or the web process's in-process worker) and stops with it."""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import Middleware

from app.search.indexer_thread import SearchIndexer
from app.settings import Settings


class SearchIndexing(Middleware):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.indexer: SearchIndexer | None = None

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # On PostgreSQL search reads the database itself: there is no Whoosh index to feed.
        if self.indexer is None and self.settings.is_sqlite:
            self.indexer = SearchIndexer(self.settings)
            self.indexer.start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None
