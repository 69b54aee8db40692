"""The drop engine's done-when scenarios at full size, on the database this suite runs on (SQLite
with the in-process gate by default; PostgreSQL with the Redis gate under TEST_DATABASE_URL and
TEST_REDIS_URL): a crowd, a member pressing many times, a replayed key, expiry and resale, the
gate losing its state or failing, a worker restart, and a crowd pressing Buy through HTTP. After
each: no unit oversold or lost, and the ledger total equals the stock."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select, update

from app.db import Database
from app.drops.rules import Outcome
from app.drops.service import Press
from app.drops.stock import ledger_sum
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.drops import PurchaseRight, RightStatus, StockEntry, StockReason
from app.models.members import Member, MemberRole, MemberStatus
from tasks import runtime
from tasks.drops import expire, sweep_expired_rights
from tasks.web import create_app
from tests.helpers.backends import _clean
from tests.helpers.drops import on_sale, service
from tests.helpers.factories import PASSWORD, MemberFactory, ProductFactory
from tests.helpers.keys import key
from tests.helpers.sql import count_by
from tests.helpers.web import login, post_form, second_browser


@pytest.fixture
def settings(settings, request):
    """The production connection pool (at most 30 PostgreSQL connections; a crowd queues for them)
    instead of a connection per checkout. Pooled connections belong to one event loop: a test with
    a running app reaches the database through ``outside``."""
    if "quiet_app" in request.fixturenames:
        return settings
    return settings.with_changes(database_null_pool=False)


@pytest.fixture
async def app(app):
    await app.state.database.dispose()  # a client started next runs the app on a loop of its own
    yield app
    await app.state.database.dispose()
    if (database := runtime._databases.pop(id(asyncio.get_running_loop()), None)) is not None:
        await database.dispose()  # the engine tasks.drops.expire opened on this loop


@pytest.fixture
async def outside(app, settings):
    """The test's own way into the database (unpooled, on the test's loop) while the app runs on
    the client's loop; it passes for ``app`` in the helpers."""
    database = Database(settings.with_changes(database_null_pool=True))
    yield SimpleNamespace(state=SimpleNamespace(database=database, settings=settings, hasher=app.state.hasher))
    await database.dispose()


FIXED_HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$not-a-real-hash-members-never-sign-in"


async def crowd(app, n: int, password_hash: str = FIXED_HASH) -> list[int]:
    """``n`` shoppers in one INSERT (signing each up would hash n passwords)."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        {
            "email": f"crowd-{tag}-{i}@example.test",
            "display_name": f"Crowd {i}",
            "password_hash": password_hash,
            "role": MemberRole.SHOPPER,
            "status": MemberStatus.ACTIVE,
            "created_at": utcnow(),
        }
        for i in range(n)
    ]
    async with app.state.database.transaction() as db:
        await db.execute(insert(Member), rows)
        ids = (await db.execute(select(Member.id).where(Member.email.like(f"crowd-{tag}-%")))).scalars()
        return sorted(ids)


async def audit(app, product_id: int) -> dict:
    """The product's sale as the database has it; asserts the invariants every scenario keeps."""
    async with app.state.database.transaction() as db:
        product = await db.get(Product, product_id)
        by_status = await count_by(db, PurchaseRight.status, PurchaseRight.product_id == product_id)
        by_reason = await count_by(db, StockEntry.reason, StockEntry.product_id == product_id)
        total = await ledger_sum(db, product_id)
    live = by_status.get(RightStatus.HELD, 0) + by_status.get(RightStatus.PAID, 0)
    assert product.taken_quantity == live <= product.fixed_quantity, "a unit was oversold or lost"
    assert total == product.fixed_left, f"ledger {total} != stock {product.fixed_left}"
    assert by_reason.get(StockReason.LISTING) == 1
    assert by_reason.get(StockReason.PURCHASE, 0) == sum(by_status.values()), "one purchase row per right"
    return {"product": product, "rights": by_status, "ledger": by_reason, "total": total}


def granted(results) -> list:
    return [r for r in results if r.outcome is Outcome.GRANTED]


async def test_400_members_at_once_on_a_50_unit_drop(app, members, products, caplog):
    product = await on_sale(app, members, products, fixed=50, total=60)
    ids = await crowd(app, 400)
    drop = service(app)
    results = await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in ids))
    assert not [r for r in caplog.records if "gate unavailable" in r.getMessage()], "the gate kept up"
    assert len(granted(results)) == 50
    assert len({r.right_id for r in granted(results)}) == 50
    assert {r.outcome for r in results} == {Outcome.GRANTED, Outcome.SOLD_OUT}
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 50}
    assert seen["product"].taken_quantity == 50 and seen["total"] == seen["product"].fixed_left == 0
    assert seen["product"].status is ProductStatus.CONVERSION_PENDING


async def test_one_member_pressing_30_times_at_once_with_limit_1(app, members, products):
    product = await on_sale(app, members, products, fixed=10, limit=1)
    [member] = await crowd(app, 1)
    drop = service(app)
    results = await asyncio.gather(*(drop.press(Press(product.id, member, key())) for _ in range(30)))
    assert len(granted(results)) == 1
    assert {r.outcome for r in results} == {Outcome.GRANTED, Outcome.LIMIT}
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 1} and seen["total"] == 9


async def test_the_same_key_30_times_at_once_gives_one_right_and_30_identical_answers(app, members, products):
    product = await on_sale(app, members, products, fixed=10, limit=3)
    [member] = await crowd(app, 1)
    drop = service(app)
    same = key()
    results = await asyncio.gather(*(drop.press(Press(product.id, member, same)) for _ in range(30)))
    answers = {(r.outcome, r.right_id) for r in results}
    assert len(answers) == 1 and next(iter(answers))[0] is Outcome.GRANTED
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 1} and seen["total"] == 9


async def _past_deadline(app, right_ids: list[int]) -> None:
    async with app.state.database.transaction() as db:
        await db.execute(
            update(PurchaseRight)
            .where(PurchaseRight.id.in_(right_ids))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_rights_expire_and_their_units_are_bought_again_by_others(app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    first, late = await crowd(app, 5), await crowd(app, 20)
    drop = service(app)
    rights = granted(await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in first)))
    assert len(rights) == 5
    assert {r.outcome for r in await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in late))} == {
        Outcome.SOLD_OUT
    }
    assert not await expire(rights[0].right_id), "a right before its deadline does not expire"
    await _past_deadline(app, [r.right_id for r in rights[:3]])
    assert await asyncio.gather(*(expire(r.right_id) for r in rights[:3])) == [True] * 3
    assert not await expire(rights[0].right_id), "a redelivered expiry changes nothing"
    seen = await audit(app, product.id)
    assert seen["product"].status is ProductStatus.ON_SALE and seen["total"] == 3
    assert seen["ledger"][StockReason.EXPIRY] == 3
    again = await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in late))
    assert len(granted(again)) == 3
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 5, RightStatus.EXPIRED: 3}
    assert seen["total"] == 0 and seen["product"].status is ProductStatus.CONVERSION_PENDING


async def test_gate_state_lost_mid_sale_never_oversells(app, members, products):
    product = await on_sale(app, members, products, fixed=20, limit=1)
    ids = await crowd(app, 90)
    drop = service(app)
    first = await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in ids[:30]))
    await drop.gate.forget(product.id)  # Redis restarted or flushed: the gate knows nothing
    if hasattr(drop.gate, "redis"):
        await drop.gate.redis.flushdb()
    # the members who already hold a right press again; the rest of the crowd arrives
    second = await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in ids[:60]))
    assert len(granted(first + second)) == 20
    assert {r.outcome for r in second} <= {Outcome.GRANTED, Outcome.SOLD_OUT, Outcome.LIMIT}
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 20} and seen["total"] == 0


async def test_the_gate_failing_mid_sale_leaves_the_database_to_decide(app, members, products, monkeypatch):
    """Redis going away: every gate call raises; presses are still answered right, by the database."""
    product = await on_sale(app, members, products, fixed=10, limit=1)
    ids = await crowd(app, 50)
    drop = service(app)
    keys = {m: key() for m in ids}
    before = await asyncio.gather(*(drop.press(Press(product.id, m, keys[m])) for m in ids[:6]))

    async def down(*args, **kwargs):
        raise ConnectionError("Connection refused (Redis went away)")

    for name in ("lookup", "settle", "apply", "load", "forget"):
        monkeypatch.setattr(drop.gate, name, down)
    after = await asyncio.gather(*(drop.press(Press(product.id, m, keys[m])) for m in ids))
    assert len({r.right_id for r in granted(before + after)}) == 10
    assert {r.outcome for r in after} == {Outcome.GRANTED, Outcome.SOLD_OUT}
    # the first six pressed again with the same keys: their own rights, not new ones
    assert [(r.outcome, r.right_id) for r in after[:6]] == [(r.outcome, r.right_id) for r in before]
    replays = await asyncio.gather(*(drop.press(Press(product.id, ids[0], keys[ids[0]])) for _ in range(10)))
    assert {(r.outcome, r.right_id) for r in replays} == {(Outcome.GRANTED, before[0].right_id)}
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.HELD: 10} and seen["total"] == 0
    await _past_deadline(app, [before[0].right_id])
    assert await expire(before[0].right_id), "an expiry does not need the gate"
    assert (await audit(app, product.id))["total"] == 1


@pytest.fixture
async def quiet_app(settings):
    """An app whose outbox relay is off: no expiry is ever scheduled, as after a lost message."""
    application = create_app(settings.with_changes(background_jobs=False, database_null_pool=True))
    await _clean(application)
    yield application
    await application.state.database.dispose()


async def _wait_until_expired(app, right_id: int, limit: float = 10.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        async with app.state.database.transaction() as db:
            if (await db.get(PurchaseRight, right_id)).status is RightStatus.EXPIRED:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"purchase right {right_id} was never expired")


async def test_a_worker_restart_between_a_right_and_its_expiry(quiet_app):
    from litestar.testing import AsyncTestClient

    app = quiet_app
    product = await on_sale(app, MemberFactory(app), ProductFactory(app), fixed=2)
    [holder, waiting, next_one] = await crowd(app, 3)
    lost = await service(app, hold=0).press(Press(product.id, holder, key()))  # its message never ran
    assert lost.outcome is Outcome.GRANTED
    async with AsyncTestClient(app=app):  # the app and its worker (re)start
        await asyncio.sleep(0.3)
        async with app.state.database.transaction() as db:
            assert (await db.get(PurchaseRight, lost.right_id)).status is RightStatus.HELD
        sweep_expired_rights.send()
        await _wait_until_expired(app, lost.right_id)
    seen = await audit(app, product.id)
    assert seen["rights"] == {RightStatus.EXPIRED: 1} and seen["total"] == 2
    drop = service(app)
    results = await asyncio.gather(*(drop.press(Press(product.id, m, key())) for m in (holder, waiting, next_one)))
    assert len(granted(results)) == 2
    assert (await audit(app, product.id))["total"] == 0


@pytest.mark.parametrize("units", [10, 40])
async def test_60_browsers_press_buy_at_once(client, outside, units):
    """40 units: more presses reach the database at once than the pool has connections."""
    product = await on_sale(outside, MemberFactory(outside), ProductFactory(outside), fixed=units)
    ids = await crowd(outside, 60, await outside.state.hasher.hash(PASSWORD))
    async with outside.state.database.transaction() as db:
        emails = list((await db.execute(select(Member.email).where(Member.id.in_(ids)))).scalars())
    async with contextlib.AsyncExitStack() as stack:
        browsers = [await stack.enter_async_context(second_browser(client)) for _ in emails]
        for browser, email in zip(browsers, emails, strict=True):  # one by one: the login throttle
            await login(browser, email)  # counts attempts in flight per address
        url = f"/products/{product.id}/buy"
        answers = await asyncio.gather(
            *(post_form(b, url, {"key": key()}, headers={"HX-Request": "true"}) for b in browsers)
        )
    assert [a.status_code for a in answers] == [200] * 60
    assert sum("Yours!" in a.text for a in answers) == units
    assert sum("Sold out" in a.text for a in answers) == 60 - units
    seen = await audit(outside, product.id)
    assert seen["rights"] == {RightStatus.HELD: units} and seen["total"] == 0
