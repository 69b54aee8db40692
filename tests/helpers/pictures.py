"""What the app's picture storage holds, whichever storage its settings choose (the folder on
SQLite, the database table on PostgreSQL unless a test says otherwise, or a bucket)."""

from __future__ import annotations

from datetime import timedelta

import obstore
from litestar import Litestar
from sqlalchemy import select

from app.catalog.pictures import BucketPictures, FolderPictures, pictures_for
from app.catalog.product_rules import to_local_input
from app.models.base import utcnow
from app.models.catalog import StoredPicture


async def stored_pictures(app: Litestar) -> list[str]:
    """The names stored, sorted (in the folder: every file, temporary ones too)."""
    storage = pictures_for(app.state.settings)
    if isinstance(storage, BucketPictures):
        return sorted(str(o["path"]).rsplit("/", 1)[-1] for batch in obstore.list(storage._store) for o in batch)
    if isinstance(storage, FolderPictures):
        folder = storage.directory
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    async with app.state.database.transaction() as db:
        return sorted((await db.execute(select(StoredPicture.name))).scalars())


async def stored_bytes(app: Litestar, name: str) -> bytes | None:
    async with app.state.database.transaction() as db:
        return await pictures_for(app.state.settings).get(db, name)


async def put_picture(app: Litestar, name: str, data: bytes) -> None:
    async with app.state.database.transaction() as db:
        await pictures_for(app.state.settings).put(db, name, data)


def product_form(category_id: int) -> dict[str, str]:
    """A valid new-product form in category ``category_id`` (its sale two days away)."""
    return {
        "name": "Glazed cup",
        "category_id": str(category_id),
        "list_price": "30,000",
        "total_quantity": "3",
        "fixed_quantity": "3",
        "purchase_limit": "1",
        "sale_starts_at": to_local_input(utcnow() + timedelta(days=2)),
    }
