"""``python -m app.catalog.copy_pictures [FOLDER]``: copy the pictures of a folder install into the
picture storage the settings choose (``database`` on PostgreSQL, or ``s3``), so that every host
serves them after a move from one host's ``var/uploads`` to several hosts.

Only well-formed picture names are copied (content-hash names and the older random ones, with
their thumbnails); a name already stored is left alone, so the command can be run again after an
interruption. Each batch of pictures is one transaction."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from app.catalog.pictures import PictureStorage, parse_name, pictures_for
from app.db import Database
from app.settings import Settings, SettingsError

log = logging.getLogger(__name__)
BATCH = 50


@dataclass(frozen=True)
class Copied:
    copied: int
    already: int
    skipped: int  # files that are not picture names


def _file_names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


async def copy_pictures(database: Database, storage: PictureStorage, folder: Path) -> Copied:
    names = await asyncio.to_thread(_file_names, folder)
    wanted = [name for name in names if parse_name(name) is not None]
    copied = already = 0
    for start in range(0, len(wanted), BATCH):
        async with database.transaction() as db:
            for name in wanted[start : start + BATCH]:
                if await storage.exists(db, name):
                    already += 1
                    continue
                await storage.put(db, name, await asyncio.to_thread((folder / name).read_bytes))
                copied += 1
    return Copied(copied, already, len(names) - len(wanted))


async def _main(settings: Settings, folder: Path) -> Copied:
    storage = pictures_for(settings)
    if getattr(storage, "kind", "local") == "local":
        raise SettingsError("The picture storage is the folder itself: set PICTURE_STORAGE=database (or s3) first.")
    database = Database(settings)
    try:
        return await copy_pictures(database, storage, folder)
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Copy a folder's pictures into the configured picture storage.")
    parser.add_argument("folder", nargs="?", type=Path, help="the folder (default: UPLOAD_DIR or var/uploads)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    folder = args.folder or settings.uploads_path
    try:
        result = asyncio.run(_main(settings, folder))
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    log.info(
        "copied %d pictures from %s (%d already stored, %d other files left alone)",
        result.copied,
        folder,
        result.already,
        result.skipped,
    )


if __name__ == "__main__":
    main()
