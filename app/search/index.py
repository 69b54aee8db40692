"""The index on disk: open or create it, write documents, and search through one cached searcher.

Threads: the web process searches while its in-process worker (or a rebuild) writes. Searches
share one searcher under a lock and refresh it when the index has a newer generation; writes take
a process-local lock and then Whoosh's file lock (with a timeout, so writers in other processes
wait instead of failing at once). ``get_index(path)`` keeps one ``SearchIndex`` per path and
process.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.fields import Schema
from whoosh.index import Index, LockError
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from app.search.schema import SCHEMA

log = logging.getLogger(__name__)

T = TypeVar("T")
INDEX_NAME = "products"
WRITE_TIMEOUT = 30.0  # seconds a writer waits for another writer (another process) to finish
WRITE_DELAY = 0.05


class SearchIndex:
    def __init__(self, path: Path | str, schema: Schema = SCHEMA) -> None:
        self.path = Path(path)
        self.schema = schema
        self._write_lock = threading.Lock()
        self._search_lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._columns: dict[str, dict[str, list[Any]]] = {}  # field → segment → values
        self.ix = self._open_or_create()

    def _open_or_create(self) -> Index:
        self.path.mkdir(parents=True, exist_ok=True)
        # Web processes starting together on a fresh folder must not both create the index.
        with open(self.path / ".open.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._open_or_create_locked()

    def _open_or_create_locked(self) -> Index:
        if whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME):
            ix = whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            if set(ix.schema.names()) == set(self.schema.names()):
                return ix
            log.warning("search index at %s has an older schema; starting empty (run the rebuild)", self.path)
            ix.close()
        log.info("created an empty search index at %s (`make reindex` fills it from the database)", self.path)
        return whoosh_index.create_in(str(self.path), self.schema, indexname=INDEX_NAME)

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def writer(self, timeout: float = WRITE_TIMEOUT) -> Iterator[IndexWriter]:
        """A writer held by this thread alone; committed on success, cancelled on error."""
        if not self._write_lock.acquire(timeout=timeout):
            raise LockError(f"search index {self.path} is busy")
        try:
            w = self.ix.writer(timeout=timeout, delay=WRITE_DELAY)
            try:
                yield w
            except BaseException:
                w.cancel()
                raise
            w.commit()
        finally:
            self._write_lock.release()

    def open_writer(self, timeout: float = WRITE_TIMEOUT) -> IndexWriter:
        """A writer for callers that cannot use ``with`` across ``await``; ``finish_writer`` ends it."""
        if not self._write_lock.acquire(timeout=timeout):
            raise LockError(f"search index {self.path} is busy")
        try:
            return self.ix.writer(timeout=timeout, delay=WRITE_DELAY)
        except BaseException:
            self._write_lock.release()
            raise

    def finish_writer(self, w: IndexWriter, *, commit: bool, mergetype: Any = None) -> None:
        try:
            if commit:
                w.commit(mergetype=mergetype) if mergetype is not None else w.commit()
            else:
                w.cancel()
        finally:
            self._write_lock.release()

    def upsert(self, doc: dict[str, Any]) -> None:
        with self.writer() as w:
            w.update_document(**doc)

    def delete(self, product_id: int) -> None:
        with self.writer() as w:
            w.delete_by_term("id", str(product_id))

    def apply(self, w: IndexWriter, product_id: int, doc: dict[str, Any] | None) -> None:
        """Write the product's document, or remove it when it has none (gone or not public)."""
        if doc is None:
            w.delete_by_term("id", str(product_id))
        else:
            w.update_document(**doc)

    def clear(self) -> None:
        self.replace_all([])

    def replace_all(self, docs: Iterable[dict[str, Any]]) -> int:
        """Swap the whole index for ``docs`` in one commit: readers see the old or the new one."""
        count = 0
        w = self.open_writer()
        try:
            for doc in docs:
                w.add_document(**doc)
                count += 1
        except BaseException:
            self.finish_writer(w, commit=False)
            raise
        self.finish_writer(w, commit=True, mergetype=writing.CLEAR)
        return count

    # -- reading ---------------------------------------------------------------------------------

    def with_searcher(self, fn: Callable[[Searcher], T]) -> T:
        """Run ``fn`` with the current searcher (refreshed when the index changed) under a lock."""
        with self._search_lock:
            current = self._searcher
            if current is None or self.ix.latest_generation() != current.reader().generation():
                # Not ``Searcher.refresh()``: in Whoosh 2.7.x it reuses segment readers whose
                # deletions changed, so deleted documents would still be found.
                self._searcher = self.ix.searcher()
                if current is not None:
                    current.close()
            return fn(self._searcher)

    def column(self, searcher: Searcher, fieldname: str) -> list[Any]:
        """A sortable field's values by document number. Segments never change their documents,
        so each segment's values are read once and reused while the segment exists. Call only
        inside ``with_searcher`` (the search lock guards the cache)."""
        cache = self._columns.setdefault(fieldname, {})
        values: list[Any] = []
        live: set[str] = set()
        for reader, _offset in searcher.reader().leaf_readers():  # in document-number order
            if reader.segment() is None:  # an index with no segment yet reads as one empty reader
                continue
            key = reader.segment().segment_id()
            live.add(key)
            if key not in cache:
                cache[key] = list(reader.column_reader(fieldname))
            values.extend(cache[key])
        for key in set(cache) - live:
            del cache[key]
        return values

    def doc_count(self) -> int:
        return int(self.with_searcher(lambda s: s.doc_count()))

    def ids(self) -> set[int]:
        return self.with_searcher(lambda s: {int(f["id"]) for f in s.all_stored_fields()})

    def close(self) -> None:
        with self._search_lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
        self.ix.close()


_REGISTRY: dict[Path, SearchIndex] = {}
_REGISTRY_LOCK = threading.Lock()


def get_index(path: Path | str) -> SearchIndex:
    """The process's ``SearchIndex`` for ``path`` (opened, or created empty, on first use)."""
    key = Path(path).resolve()
    with _REGISTRY_LOCK:
        index = _REGISTRY.get(key)
        if index is None:
            index = _REGISTRY[key] = SearchIndex(key)
        return index


def close_index(path: Path | str) -> None:
    with _REGISTRY_LOCK:
        index = _REGISTRY.pop(Path(path).resolve(), None)
    if index is not None:
        index.close()
