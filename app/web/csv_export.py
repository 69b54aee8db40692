"""CSV downloads of the shop's lists (``…/export.csv`` beside each list page, with the page's filters).

A download is a ``Stream`` of an async generator: the header row, then the rows read in
keyset-paginated chunks (``CHUNK_ROWS`` at a time), each chunk in its own short session of the
app's ``Database``, so no session stays open for the length of a download (the request's own
session has been committed and closed by the time the first byte leaves).

What a spreadsheet program needs: UTF-8 with a byte-order mark (Excel reads Korean then), the
column titles in the viewer's language, times in the viewer's zone as ``2026-12-02 15:04:05`` with
the zone named in the column's title, money as whole won, states in words. A text cell that starts
with ``= + - @``, a tab or a carriage return gets a leading apostrophe, so a shopper's text is
never run as a formula (numbers the shop computes are written as numbers)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, current_language, current_zone_name, local, using
from app.core.labels import label
from app.db import Database
from app.models.base import utcnow

CHUNK_ROWS = 500
BOM = "\ufeff"
MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Label:
    """A cell that shows a state in words: ``label(value, kind)`` in the viewer's language."""

    value: Any
    kind: str


Cell = str | int | datetime | Label | None
Row = Sequence[Cell]
# One chunk: the rows read after ``after`` (None: from the start), at most ``size``, and the key of
# the last one (what the next chunk reads after).
Reader = Callable[[AsyncSession, Any, int], Awaitable[tuple[list[Row], Any]]]


@dataclass(frozen=True)
class CsvExport:
    """What one download holds: its file's name (``smore-{name}-{date}.csv``), its column titles
    (called in the viewer's language and zone) and how to read its rows a chunk at a time."""

    name: str
    header: Callable[[], list[str]]
    read: Reader


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell_text(cell: Cell) -> str | int:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, datetime):
        return local(cell).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, Label):
        return neutralise(label(cell.value, cell.kind))
    return neutralise(str(cell))


def csv_lines(rows: Sequence[Row]) -> str:
    """``rows`` as CSV text (the ``csv`` module's Excel dialect: quoted where needed, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([cell_text(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def zoned(title: str) -> str:
    """The title of a time column, with the zone its times are in: ``Created (Asia/Seoul)``."""
    return _("%(column)s (%(zone)s)", column=title, zone=current_zone_name())


def file_name(name: str) -> str:
    """``smore-orders-2026-12-02.csv``: what the file holds and the viewer's date today."""
    return f"smore-{name}-{local(utcnow()):%Y-%m-%d}.csv"


async def read_chunks(database: Database, read: Reader, size: int = CHUNK_ROWS) -> AsyncIterator[list[Row]]:
    """Every row ``read`` gives, a chunk at a time, each chunk read in a short session of its own."""
    after: Any = None
    while True:
        async with database.transaction() as db:
            rows, after = await read(db, after, size)
        if rows:
            yield rows
        if len(rows) < size:
            return


def csv_download(database: Database, export: CsvExport, *, size: int = CHUNK_ROWS) -> Stream:
    """The streamed download of ``export`` in the language and zone of the request that asks."""
    language, zone = current_language(), current_zone_name()

    async def body() -> AsyncIterator[bytes]:
        with using(language, zone):
            head = BOM + csv_lines([export.header()])
        yield head.encode()
        chunks = read_chunks(database, export.read, size)
        while True:
            with using(language, zone):  # the rows' words and times, never across a yield
                rows = await anext(chunks, None)
                text = csv_lines(rows) if rows is not None else ""
            if rows is None:
                return
            yield text.encode()

    disposition = f'attachment; filename="{file_name(export.name)}"'
    return Stream(body(), media_type=MEDIA_TYPE, headers={"Content-Disposition": disposition})
