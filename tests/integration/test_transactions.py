"""One transaction per request, committed at the edge on 2xx and 3xx, rolled back otherwise."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath
from litestar.response import Redirect, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.catalog import Category
from tests.helpers.web import post_form


async def _write(db: AsyncSession, slug: str) -> None:
    db.add(Category(name=slug, slug=slug))
    await db.flush()


@post("/_t/redirect/{slug:str}")
async def write_then_redirect(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> Redirect:
    await _write(db, slug)
    return Redirect("/", status_code=303)


@post("/_t/ok/{slug:str}")
async def write_then_ok(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> Response[str]:
    await _write(db, slug)
    return Response("ok", status_code=201)


@post("/_t/refuse/{slug:str}")
async def write_then_refuse(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> Response[str]:
    await _write(db, slug)
    return Response("refused", status_code=422)


@post("/_t/raise/{slug:str}")
async def write_then_raise(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> None:
    await _write(db, slug)
    raise ValidationException("bad")


@get("/_t/crash/{slug:str}")
async def write_then_crash(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> None:
    await _write(db, slug)
    raise RuntimeError("boom")


async def _slugs(app) -> set[str]:
    async with app.state.database.transaction() as db:
        return set((await db.execute(select(Category.slug))).scalars())


async def test_commit_on_2xx_and_3xx_rollback_otherwise(client, app):
    for handler in (write_then_redirect, write_then_ok, write_then_refuse, write_then_raise, write_then_crash):
        app.register(handler)
    assert (await post_form(client, "/_t/redirect/kept-by-redirect")).status_code == 303
    assert (await post_form(client, "/_t/ok/kept-by-ok")).status_code == 201
    assert (await post_form(client, "/_t/refuse/dropped-422")).status_code == 422
    assert (await post_form(client, "/_t/raise/dropped-400")).status_code == 400
    crash = await client.get("/_t/crash/dropped-500")
    assert crash.status_code == 500
    assert "Something went wrong" in crash.text and "text/html" in crash.headers["content-type"]
    assert await _slugs(app) == {"kept-by-redirect", "kept-by-ok"}


@post("/_t/late-conflict/{slug:str}")
async def conflict_at_commit(db: NamedDependency[AsyncSession], slug: FromPath[str]) -> Redirect:
    db.add(Category(name="first", slug=slug))
    db.add(Category(name="second", slug=slug))  # not flushed: the unique slug fails at commit
    return Redirect("/", status_code=303)


async def test_a_conflict_at_commit_turns_the_redirect_into_a_409(client, app):
    app.register(conflict_at_commit)
    r = await post_form(client, "/_t/late-conflict/twice")
    assert r.status_code == 409
    assert "Nothing was saved" in r.text
    assert "twice" not in await _slugs(app)
