"""``/uploads/{name}``: product pictures from the picture storage, whichever host stored them.

A name is the hash of the picture's bytes, so the answer never changes: cached for a year as
immutable, with the hash as a strong ETag (``If-None-Match`` gets a 304 without reading the
bytes). A name that is not a picture name (a path, ``..``, another type) is never looked up; it and
an unknown picture get the plain 404 page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from app.catalog.pictures import parse_name, pictures_for
from app.core.i18n import _
from app.web.params import AppServices, DbSession

CACHE_FOREVER = "public, max-age=31536000, immutable"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


@get(
    "/uploads/{name:str}",
    name="uploads",
    opt={"loads_member": False, "skip_session": True},
    include_in_schema=False,
)
async def picture(
    request: Request[Any, Any, Any], name: FromPath[str], db: DbSession, services: AppServices
) -> Response[bytes]:
    parsed = parse_name(name)
    if parsed is None:
        raise NotFoundException(_("No such picture."))
    stem, content_type = parsed
    etag = f'"{stem}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"}
    storage = pictures_for(services.settings)
    if _matches(request.headers.get("if-none-match"), etag):
        if await storage.exists(db, name):
            return Response(b"", status_code=304, headers=headers)
        raise NotFoundException(_("No such picture."))
    data = await storage.get(db, name)
    if data is None:
        raise NotFoundException(_("No such picture."))
    return Response(data, media_type=content_type, headers=headers)
