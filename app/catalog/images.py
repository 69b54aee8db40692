"""Product pictures: checked by their content (never by name or declared type), re-encoded (which
drops metadata such as GPS tags and anything smuggled after the picture data), thumbnailed, and
put into the picture storage under the hash of their bytes.

Checking and encoding happen in memory for every picture of a form before anything is stored,
so a refused form leaves nothing behind. What is stored follows the database transaction
(``app/catalog/pictures.py``): a rollback leaves no new picture, removed pictures go only once the
removal is committed.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.pictures import PictureStorage, content_stem, picture_names
from app.core.i18n import _

MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
THUMB_SIZE = (400, 400)
# Pillow format → (extension, content type, save options)
FORMATS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "JPEG": ("jpg", "image/jpeg", {"quality": 90, "optimize": True}),
    "PNG": ("png", "image/png", {"optimize": True}),
    "WEBP": ("webp", "image/webp", {"quality": 90}),
}
_NAME_SHOWN = 60


class ImageRejected(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A file as it came in: the name the browser gave it (shown in messages only) and its bytes
    (possibly cut off at ``max_bytes + 1``)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class ProcessedImage:
    extension: str
    content_type: str
    width: int
    height: int
    data: bytes
    thumb: bytes


@dataclass(frozen=True)
class StoredImage:
    stem: str
    extension: str
    content_type: str
    width: int
    height: int
    size_bytes: int

    def row_values(self) -> dict[str, Any]:
        """Keyword arguments for a ``ProductImage`` row."""
        return {
            "stem": self.stem,
            "extension": self.extension,
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "size_bytes": self.size_bytes,
        }


def shown_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name or _("The file")
    return name if len(name) <= _NAME_SHOWN else name[: _NAME_SHOWN - 1] + "…"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def process_image(upload: Upload, max_bytes: int) -> ProcessedImage:
    """Check one upload by its content and encode the stored picture and its thumbnail.
    Raises ``ImageRejected`` with a message naming the file."""
    name = f"“{shown_name(upload.filename)}”"
    if len(upload.data) > max_bytes:
        raise ImageRejected(
            _("%(name)s is larger than %(most)s; upload a smaller picture.", name=name, most=_megabytes(max_bytes))
        )
    if not upload.data:
        raise ImageRejected(_("%(name)s is empty.", name=name))
    not_allowed = _("%(name)s is not a JPEG, PNG or WebP picture.", name=name)
    megapixels = MAX_PIXELS // 1_000_000
    too_large = _(
        "%(name)s has too many pixels; pictures may have at most %(most)s megapixels.", name=name, most=megapixels
    )
    try:
        # Only the three accepted decoders are ever tried; headers only, nothing decoded yet.
        with Image.open(io.BytesIO(upload.data), formats=list(FORMATS)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise ImageRejected(
                    _(
                        "%(name)s has too many pixels; pictures may have at most %(most)s megapixels "
                        "(this one is %(width)s by %(height)s).",
                        name=name,
                        most=megapixels,
                        width=f"{width:,}",
                        height=f"{height:,}",
                    )
                )
            probe.verify()
        # ``verify`` leaves the image unusable: open it again to decode it.
        with Image.open(io.BytesIO(upload.data), formats=[kind]) as img:
            img.load()
            return _encode(img, kind)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(too_large) from None
    except UnidentifiedImageError:
        other = _other_format(upload.data)
        raise ImageRejected(
            _("%(name)s is a %(kind)s file; upload JPEG, PNG or WebP.", name=name, kind=other) if other else not_allowed
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, TypeError, KeyError, IndexError):
        raise ImageRejected(_("%(name)s could not be read; it may be damaged.", name=name)) from None


def _other_format(data: bytes) -> str | None:
    """Name a picture format we refuse (“GIF”), for a clearer message. Headers only."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            return other.format
    except Exception:
        return None


def _encode(img: Image.Image, kind: str) -> ProcessedImage:
    extension, content_type, options = FORMATS[kind]
    picture = ImageOps.exif_transpose(img) or img
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    if kind == "JPEG":
        picture = picture.convert("RGB") if picture.mode not in ("RGB", "L") else picture
    elif kind == "WEBP" or picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    icc = img.info.get("icc_profile")
    picture.save(out, format=kind, **options, **({"icc_profile": icc} if icc else {}))
    thumb = picture.convert("RGBA" if has_alpha else "RGB")
    thumb.thumbnail(THUMB_SIZE, Image.Resampling.LANCZOS)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="WEBP", quality=80)
    return ProcessedImage(
        extension=extension,
        content_type=content_type,
        width=picture.width,
        height=picture.height,
        data=out.getvalue(),
        thumb=thumb_out.getvalue(),
    )


def process_all(uploads: Sequence[Upload], max_bytes: int) -> tuple[list[ProcessedImage], list[str]]:
    """Every upload checked; the messages of those refused (nothing is written here)."""
    processed: list[ProcessedImage] = []
    problems: list[str] = []
    for upload in uploads:
        try:
            processed.append(process_image(upload, max_bytes))
        except ImageRejected as exc:
            problems.append(exc.message)
    return processed, problems


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def store(db: AsyncSession, storage: PictureStorage, images: Iterable[ProcessedImage]) -> list[StoredImage]:
    """Put each picture and its thumbnail into ``storage`` under its content name, as part of the
    transaction of ``db`` (``app/catalog/pictures.py`` says how each storage keeps to it)."""
    stored: list[StoredImage] = []
    for image in images:
        stem = content_stem(image.data)
        main, thumb = picture_names(stem, image.extension)
        await storage.put(db, main, image.data)
        await storage.put(db, thumb, image.thumb)
        stored.append(
            StoredImage(stem, image.extension, image.content_type, image.width, image.height, len(image.data))
        )
    return stored
