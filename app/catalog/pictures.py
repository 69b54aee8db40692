"""Where picture bytes live: one small interface (put / get / exists / delete by name) over the
uploads folder (the embedded default, one host), a database table (PostgreSQL by default: every web
host serves every picture) or an S3-compatible bucket (through the obstore package).

Names are file names: ``{stem}.{ext}`` and ``{stem}_thumb.webp``, the stem being the SHA-256 of the
picture's bytes (older pictures have a random 32-digit hex stem). A name is a content address: its
bytes never change, so it is served as immutable with the stem as a strong ETag, and writing it
again is harmless.

Every write follows the session's transaction. In the database the bytes are rows of that very
transaction: a product that is not saved leaves no picture, a removal that rolls back keeps it.
The folder and the bucket cannot join the transaction: a new file is written (to a temporary name,
then renamed) before the commit and removed again if the transaction rolls back, unless it was
already there; removed pictures are deleted only after the commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import after_commit, after_rollback
from app.models.catalog import StoredPicture
from app.settings import Settings, SettingsError

# A stem (new: 64 hex digits of SHA-256; older: 32 of a random UUID), maybe ``_thumb``, a known type.
NAME = re.compile(r"(?P<stem>[0-9a-f]{64}|[0-9a-f]{32})(?P<thumb>_thumb)?\.(?P<ext>jpg|png|webp)")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
KINDS = ("local", "database", "s3")


def content_stem(data: bytes) -> str:
    """The stem of a picture with these bytes."""
    return hashlib.sha256(data).hexdigest()


def picture_names(stem: str, extension: str) -> list[str]:
    """The picture's own name and its thumbnail's."""
    return [f"{stem}.{extension}", f"{stem}_thumb.webp"]


def parse_name(name: str) -> tuple[str, str] | None:
    """The ETag and content type of a well-formed picture name; None for anything else (a path,
    ``..``, another extension, upper case): such a name is never looked up."""
    match = NAME.fullmatch(name)
    if match is None:
        return None
    return match["stem"] + (match["thumb"] or ""), CONTENT_TYPES[match["ext"]]


class PictureStorage(Protocol):
    """Picture bytes by name. ``db`` is the unit of work the change belongs to."""

    kind: str

    async def put(self, db: AsyncSession, name: str, data: bytes) -> None: ...

    async def get(self, db: AsyncSession, name: str) -> bytes | None: ...

    async def exists(self, db: AsyncSession, name: str) -> bool: ...

    async def delete(self, db: AsyncSession, names: Iterable[str]) -> None: ...


class FolderPictures:
    """Files in one folder (``var/uploads`` by default): right for one host only."""

    kind = "local"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        if parse_name(name) is None:  # never a path outside the folder
            raise ValueError(f"not a picture name: {name!r}")
        return self.directory / name

    async def put(self, db: AsyncSession, name: str, data: bytes) -> None:
        from app.catalog.images import write_atomically

        path = self._path(name)
        if path.exists():  # the same bytes (the name is their hash), perhaps another product's
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        await anyio.to_thread.run_sync(write_atomically, path, data)
        after_rollback(db, lambda: path.unlink(missing_ok=True))

    async def get(self, db: AsyncSession, name: str) -> bytes | None:
        path = self._path(name)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            return None

    async def exists(self, db: AsyncSession, name: str) -> bool:
        return self._path(name).is_file()

    async def delete(self, db: AsyncSession, names: Iterable[str]) -> None:
        doomed = [self._path(name) for name in names]

        async def remove() -> None:
            for path in doomed:
                path.unlink(missing_ok=True)

        after_commit(db, remove)


class DatabasePictures:
    """Rows of ``stored_pictures``, written in the caller's transaction: every host sees them."""

    kind = "database"

    async def put(self, db: AsyncSession, name: str, data: bytes) -> None:
        # An upsert: the same name is the same bytes. DO UPDATE rather than DO NOTHING so that a
        # concurrent delete of the row (its last product removed it) is waited for and the row
        # written again, never lost.
        dialect = db.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(StoredPicture).values(name=name, data=data)
        await db.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"data": stmt.excluded.data}))

    async def get(self, db: AsyncSession, name: str) -> bytes | None:
        data: bytes | None = await db.scalar(select(StoredPicture.data).where(StoredPicture.name == name))
        return data

    async def exists(self, db: AsyncSession, name: str) -> bool:
        return await db.scalar(select(StoredPicture.name).where(StoredPicture.name == name)) is not None

    async def delete(self, db: AsyncSession, names: Iterable[str]) -> None:
        wanted = list(names)
        if wanted:
            await db.execute(delete(StoredPicture).where(StoredPicture.name.in_(wanted)))


class BucketPictures:
    """Objects in an S3-compatible bucket through obstore (``S3_*`` settings; any obstore store
    works the same, its ``LocalStore`` or ``MemoryStore`` too). Like the folder, written before the
    commit and removed on rollback, deleted after the commit."""

    kind = "s3"

    def __init__(self, store: Any, prefix: str | None = None) -> None:
        import obstore

        self._obstore = obstore
        self._store = store
        self._prefix = (prefix or "").strip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> BucketPictures:
        from obstore.store import S3Store

        options = {
            "endpoint": settings.s3_endpoint_url,
            "region": settings.s3_region,
            "access_key_id": settings.s3_access_key_id,
            "secret_access_key": settings.s3_secret_access_key,
        }
        config: Any = {k: v for k, v in options.items() if v}
        store = S3Store(settings.s3_bucket, config=config)
        return cls(store, settings.s3_prefix)

    def _key(self, name: str) -> str:
        if parse_name(name) is None:
            raise ValueError(f"not a picture name: {name!r}")
        return f"{self._prefix}/{name}" if self._prefix else name

    async def put(self, db: AsyncSession, name: str, data: bytes) -> None:
        if await self.exists(db, name):
            return
        key = self._key(name)
        await self._obstore.put_async(self._store, key, data)
        remove = self._obstore.delete  # the undo runs outside the loop: obstore's blocking call
        after_rollback(db, lambda: remove(self._store, key))

    async def get(self, db: AsyncSession, name: str) -> bytes | None:
        try:
            result = await self._obstore.get_async(self._store, self._key(name))
        except FileNotFoundError:
            return None
        return bytes(await result.bytes_async())

    async def exists(self, db: AsyncSession, name: str) -> bool:
        try:
            await self._obstore.head_async(self._store, self._key(name))
        except FileNotFoundError:
            return False
        return True

    async def delete(self, db: AsyncSession, names: Iterable[str]) -> None:
        keys = [self._key(name) for name in names]

        async def remove() -> None:
            if keys:
                await self._obstore.delete_async(self._store, keys)

        after_commit(db, remove)


def storage_kind(settings: Settings) -> str:
    """Which storage these settings ask for; a wrong ``PICTURE_STORAGE`` stops the start."""
    if settings.picture_storage:
        kind = settings.picture_storage.strip().lower()
        if kind not in KINDS:
            raise SettingsError(
                f"PICTURE_STORAGE must be one of {', '.join(KINDS)}; it is {settings.picture_storage!r}."
            )
        return kind
    if settings.s3_bucket:
        return "s3"
    return "local" if settings.is_sqlite else "database"


def pictures_for(settings: Settings) -> PictureStorage:
    """The picture storage of these settings (cheap: build it where it is needed).
    Raises ``SettingsError`` when the settings cannot work, which ``create_app`` calls at start-up."""
    kind = storage_kind(settings)
    if kind == "database":
        return DatabasePictures()
    if kind == "s3":
        if not settings.s3_bucket:
            raise SettingsError("S3 picture storage needs S3_BUCKET (and S3_ENDPOINT_URL for a non-AWS service).")
        return BucketPictures.from_settings(settings)
    return FolderPictures(settings.uploads_path)
