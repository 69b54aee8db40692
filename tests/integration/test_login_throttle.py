"""The failed-login throttle holds when attempts arrive all at once."""

from __future__ import annotations

import asyncio
import os

import pytest

from app.accounts.throttle import LoginThrottle, MemoryCounter, RedisCounter
from tests.helpers.backends import memory_and_redis

REDIS = os.environ.get("TEST_REDIS_URL")


@pytest.fixture(params=memory_and_redis())
async def throttle(request):
    if request.param == "memory":
        yield LoginThrottle(MemoryCounter(), per_email=5, per_address=20, window_seconds=60)
        return
    counter = RedisCounter(REDIS)
    await counter._redis.flushdb()
    yield LoginThrottle(counter, per_email=5, per_address=20, window_seconds=60)
    await counter._redis.flushdb()
    await counter.close()


async def test_parallel_attempts_on_one_email_get_exactly_the_limit(throttle):
    results = await asyncio.gather(*(throttle.acquire("victim@example.test", f"10.0.0.{i}") for i in range(50)))
    assert sum(results) == 5


async def test_parallel_attempts_from_one_address_get_exactly_the_limit(throttle):
    results = await asyncio.gather(*(throttle.acquire(f"user{i}@example.test", "10.9.9.9") for i in range(60)))
    assert sum(results) == 20


async def test_success_forgets_the_email_and_returns_the_address_slot(throttle):
    for _ in range(4):
        assert await throttle.acquire("me@example.test", "10.1.1.1")
    await throttle.succeeded("me@example.test", "10.1.1.1")
    for _ in range(5):
        assert await throttle.acquire("me@example.test", "10.1.1.1")
    assert not await throttle.acquire("me@example.test", "10.1.1.1")


async def test_only_a_refused_password_counts(throttle):
    """Attempts that end otherwise (a server error, an account that may not sign in) give both
    slots back; refused passwords keep theirs for the window."""
    for i in range(30):
        assert await throttle.acquire(f"user{i}@example.test", "10.2.2.2", f"a{i}")
        await throttle.abandoned(f"user{i}@example.test", "10.2.2.2", f"a{i}")
    for i in range(20):
        assert await throttle.acquire(f"guess{i}@example.test", "10.2.2.2", f"g{i}")
        await throttle.failed(f"guess{i}@example.test", "10.2.2.2", f"g{i}")
    assert not await throttle.acquire("late@example.test", "10.2.2.2")


@pytest.mark.slow
async def test_an_attempt_whose_process_died_stops_counting_after_its_short_life(throttle):
    short = LoginThrottle(throttle.counter, per_email=5, per_address=3, window_seconds=60, attempt_seconds=1)
    assert await short.acquire("a@example.test", "10.3.3.3", "failed")
    await short.failed("a@example.test", "10.3.3.3", "failed")
    # two attempts that never end: their process was killed between the slot and the password check
    assert await short.acquire("b@example.test", "10.3.3.3", "lost-1")
    assert await short.acquire("c@example.test", "10.3.3.3", "lost-2")
    assert not await short.acquire("d@example.test", "10.3.3.3")
    await asyncio.sleep(1.3)
    # the lost attempts no longer count, the refused password still does (1 + 2 = the limit)
    assert await short.acquire("d@example.test", "10.3.3.3", "d")
    assert await short.acquire("e@example.test", "10.3.3.3", "e")
    assert not await short.acquire("f@example.test", "10.3.3.3")
