"""The Buy batches' telemetry (``app.drops.telemetry``) in memory and on Redis: what a batch and the
gate's replays add to their product's second, that a crowd's presses through the real DropService
are recorded once per batch, that the batches of two services (two web processes) add up in Redis,
and that a telemetry store that does not answer never fails a press."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.drops.gate import get_gate
from app.drops.rules import Outcome
from app.drops.service import DropService, Press
from app.drops.telemetry import TTL_SECONDS, BatchRecord, MemoryTelemetry, RedisTelemetry, SecondStats
from app.models.base import utcnow
from tests.helpers.backends import TEST_REDIS_URL, memory_and_redis
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.waiting import wait_for

needs_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL unset")


@pytest.fixture(params=memory_and_redis())
async def telemetry(request, app):  # `app` first: it empties Redis
    store = MemoryTelemetry() if request.param == "memory" else RedisTelemetry(TEST_REDIS_URL)
    yield store
    await store.close()


def totals(seconds: list[SecondStats]) -> SecondStats:
    total = SecondStats(0)
    for s in seconds:
        total.add({"batches": s.batches, "presses": s.presses, "decision_us": s.decision_us})
        total.add({"size_max": s.size_max, "decision_us_max": s.decision_us_max})
        total.add({f"o:{k}": v for k, v in s.outcomes.items()} | {f"r:{k}": v for k, v in s.replays.items()})
    return total


def drop_service(app, telemetry=None) -> DropService:
    settings = app.state.settings
    return DropService(app.state.database, get_gate(settings.redis_url, str(settings.var_dir)), 600, telemetry)


async def test_batches_and_replays_add_up_per_product_and_second(telemetry):
    now = utcnow().replace(microsecond=0)
    await telemetry.record_batch(BatchRecord(1, 3, 0.004, {"granted": 2, "sold_out": 1}, now))
    await telemetry.record_batch(BatchRecord(1, 5, 0.001, {"sold_out": 5}, now - timedelta(seconds=2)))
    await telemetry.record_batch(BatchRecord(2, 7, 0.002, {"granted": 7}, now))
    telemetry.note_replay(1, "granted", now)
    telemetry.note_replay(1, "granted", now)
    await telemetry.flush()
    window = await telemetry.window([1, 2, 3], 5, now)
    assert [s.second for s in window[1]] == [int(now.timestamp()) + d for d in range(-4, 1)]
    last, two_before = window[1][-1], window[1][-3]
    assert (last.batches, last.presses, last.size_max, last.decision_us) == (1, 3, 3, 4000)
    assert last.outcomes == {"granted": 2, "sold_out": 1} and last.replays == {"granted": 2}
    assert (two_before.presses, two_before.outcomes) == (5, {"sold_out": 5})
    assert totals(window[2]).outcomes == {"granted": 7}
    assert totals(window[3]).batches == 0  # a product without batches: zeros
    # an hour later the seconds have gone (kept TTL_SECONDS)
    assert totals((await telemetry.window([1], 5, now + timedelta(seconds=TTL_SECONDS)))[1]).batches == 0


@needs_redis
async def test_the_redis_seconds_expire_after_an_hour(app):
    telemetry = RedisTelemetry(TEST_REDIS_URL)
    now = utcnow()
    await telemetry.record_batch(BatchRecord(9, 1, 0.001, {"granted": 1}, now))
    ttl = await telemetry.redis.ttl(telemetry.key(9, int(now.timestamp())))
    assert TTL_SECONDS - 5 < ttl <= TTL_SECONDS
    assert "{9}" in telemetry.key(9, 0)  # one hash tag per product, as the gate's keys
    await telemetry.close()


async def test_a_crowd_through_the_drop_service_is_counted_per_batch(app, members, products, telemetry):
    product = await on_sale(app, members, products, fixed=5, limit=1)
    buyers = [await members.create() for _ in range(12)]
    drop = drop_service(app, telemetry)
    presses = [Press(product.id, m.id, key()) for m in buyers]
    results = await asyncio.gather(*(drop.press(p) for p in presses))
    assert sum(r.outcome is Outcome.GRANTED for r in results) == 5

    async def recorded():
        total = totals((await telemetry.window([product.id], 60, utcnow()))[product.id])
        return total if total.presses == 12 else None

    total = await wait_for(recorded, 5, "the batches to be recorded")
    assert total.outcomes == {"granted": 5, "sold_out": 7}
    assert 1 <= total.batches < 12  # batched, not one record per press
    assert total.size_max >= 12 / total.batches and total.decision_us > 0

    # a replayed key is answered from the gate's memory: noted, and written a second later. The gate
    # learns a batch's answers just after the batch's presses have theirs: wait until it knows this key.
    await wait_for(lambda: drop.gate.lookup(product.id, presses[0].key), 5, "the gate to know the key")
    again = await drop.press(presses[0])
    assert again.replayed

    async def replayed():
        total = totals((await telemetry.window([product.id], 60, utcnow()))[product.id])
        return total if total.replays else None

    assert (await wait_for(replayed, 5, "the replay to be recorded")).replays == {results[0].outcome.value: 1}


@needs_redis
async def test_two_web_processes_batches_add_up_in_redis(app, members, products):
    product = await on_sale(app, members, products, fixed=10, limit=1)
    first, second = RedisTelemetry(TEST_REDIS_URL), RedisTelemetry(TEST_REDIS_URL)  # a client each
    one, two = drop_service(app, first), drop_service(app, second)
    buyers = [await members.create() for _ in range(6)]
    await asyncio.gather(
        *(s.press(Press(product.id, m.id, key())) for s, m in zip([one, two] * 3, buyers, strict=True))
    )
    reader = RedisTelemetry(TEST_REDIS_URL)

    async def recorded():
        total = totals((await reader.window([product.id], 60, utcnow()))[product.id])
        return total if total.presses == 6 else None

    total = await wait_for(recorded, 5, "both services' batches")
    assert total.outcomes == {"granted": 6} and total.batches >= 2  # at least one batch from each
    for store in (first, second, reader):
        await store.close()


async def test_a_telemetry_store_that_does_not_answer_never_fails_a_press(app, members, products, caplog):
    product = await on_sale(app, members, products, fixed=3)
    nowhere = RedisTelemetry("redis://127.0.0.1:1/0")  # nothing listens there
    drop = drop_service(app, nowhere)
    shopper = await members.create()
    result = await drop.press(Press(product.id, shopper.id, key()))
    assert result.outcome is Outcome.GRANTED

    async def warned():  # the batch is counted after its presses have their answers
        return "could not record a Buy batch" in caplog.text

    await wait_for(warned, 5, "the warning")
    caplog.clear()
    other = await members.create()
    assert (await drop.press(Press(product.id, other.id, key()))).outcome is Outcome.GRANTED
    await asyncio.sleep(0.5)
    assert "could not record a Buy batch" not in caplog.text  # quiet for a minute after the first
    await nowhere.close()
