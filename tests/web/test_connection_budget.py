"""When the database has no connection to give within the pool's timeout, a page answers 503 with
``Retry-After`` (never a 500) and changes nothing, while a Buy press waits for its connection and is
answered once one is free. The app runs with a pool of one connection; the test holds it."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from app.db import Database
from app.models.drops import PurchaseRight
from tests.helpers.drops import on_sale
from tests.helpers.factories import MemberFactory, ProductFactory
from tests.helpers.keys import key
from tests.helpers.web import buy, login


@pytest.fixture
def settings(settings):
    return settings.with_changes(database_null_pool=False, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3)


@pytest.fixture
async def outside(app, settings):
    """The test's own way into the database (unpooled, on the test's loop): the app's one pooled
    connection belongs to the loop the app runs on."""
    await app.state.database.dispose()
    database = Database(settings.with_changes(database_null_pool=True))
    yield SimpleNamespace(state=SimpleNamespace(database=database, settings=settings, hasher=app.state.hasher))
    await database.dispose()


class HeldConnection:
    """Takes the app's only pooled connection on the app's own loop and gives it back after
    ``seconds`` (the test client's requests block the test's loop, so the app's loop lets go)."""

    def __init__(self, app, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.taken = threading.Event()

    async def _hold(self) -> None:
        async with self.app.state.database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            self.taken.set()
            await asyncio.sleep(self.seconds)

    async def __aenter__(self) -> HeldConnection:
        loop = self.app.state.live.loop  # bound when the app started
        self.future = asyncio.run_coroutine_threadsafe(self._hold(), loop)
        assert await asyncio.to_thread(self.taken.wait, 10), "could not take the connection"
        self.until = time.monotonic() + self.seconds
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wrap_future(self.future)


async def test_no_connection_gives_a_503_page_and_a_press_waits_for_its_turn(client, app, outside):
    product = await on_sale(outside, MemberFactory(outside), ProductFactory(outside), fixed=3)
    shopper = await MemberFactory(outside).create()
    await login(client, shopper.email)
    assert (await client.get(f"/products/{product.id}")).status_code == 200

    async with HeldConnection(app, seconds=2.5) as held:
        page = await client.get(f"/products/{product.id}")
        assert page.status_code == 503
        assert page.headers["retry-after"] == "5"
        assert page.headers["content-type"].startswith("text/html")
        assert "try again" in page.text
        answer = await buy(client, product.id, key())
        answered = time.monotonic()
    assert answer.status_code == 200 and "Yours!" in answer.text
    assert answered >= held.until - 0.05, "the press waited for the connection instead of failing"
    assert (await client.get(f"/products/{product.id}")).status_code == 200
    async with outside.state.database.transaction() as db:
        rights = list((await db.execute(select(PurchaseRight))).scalars())
    assert [r.member_id for r in rights] == [shopper.id]
