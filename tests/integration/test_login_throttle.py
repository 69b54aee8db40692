"""The failed-login limits hold when attempts arrive all at once: a pair and an address get exactly
their limit, an email alone is never refused but slowed down."""

from __future__ import annotations

import asyncio

import pytest

from app.accounts.throttle import LoginLimits, LoginThrottle, MemoryCounter, RedisCounter
from tests.helpers.backends import TEST_REDIS_URL, memory_and_redis

REDIS = TEST_REDIS_URL
LIMITS = LoginLimits(
    failures_per_pair=5,
    failures_per_address=20,
    failure_window_seconds=60,
    slow_after=3,
    delay_seconds=1,
    max_delay_seconds=10,
)


@pytest.fixture(params=memory_and_redis())
async def throttle(request):
    if request.param == "memory":
        yield LoginThrottle(MemoryCounter(), LIMITS)
        return
    counter = RedisCounter(REDIS)
    await counter._redis.flushdb()
    yield LoginThrottle(counter, LIMITS)
    await counter._redis.flushdb()
    await counter.close()


def admitted(results) -> int:
    return sum(r is not None for r in results)


async def test_parallel_attempts_on_one_email_from_one_address_get_exactly_the_pair_limit(throttle):
    results = await asyncio.gather(*(throttle.acquire("victim@example.test", "10.0.0.1") for _ in range(50)))
    assert admitted(results) == 5


async def test_parallel_attempts_from_one_address_get_exactly_the_address_limit(throttle):
    results = await asyncio.gather(*(throttle.acquire(f"user{i}@example.test", "10.9.9.9") for i in range(60)))
    assert admitted(results) == 20


async def test_parallel_attempts_on_one_email_from_many_addresses_are_slowed_never_refused(throttle):
    results = await asyncio.gather(*(throttle.acquire("victim@example.test", f"10.0.0.{i}") for i in range(50)))
    assert admitted(results) == 50
    # each attempt in flight counts towards the next one's delay: 3 free, then 1, 2, 4, 8, then 10 s
    assert sorted(results) == [0, 0, 0, 1, 2, 4, 8] + [10] * 43


async def test_success_forgets_the_pair_and_the_email_and_returns_the_address_slot(throttle):
    for i in range(4):
        assert await throttle.acquire("me@example.test", "10.1.1.1", f"t{i}") is not None
        await throttle.failed("me@example.test", "10.1.1.1", f"t{i}")
    assert await throttle.acquire("me@example.test", "10.1.1.1", "last") == 2  # 4 failures: slowed by 2 s
    await throttle.succeeded("me@example.test", "10.1.1.1", "last")
    for i in range(5):
        assert await throttle.acquire("me@example.test", "10.1.1.1", f"again{i}") is not None
    assert await throttle.acquire("me@example.test", "10.1.1.1") is None  # the pair's 5 are in flight
    assert await throttle.acquire("me@example.test", "10.1.1.2") is not None  # another address is not


async def test_only_a_refused_password_counts(throttle):
    """Attempts that end otherwise (a server error, an account that may not sign in) give every
    slot back; refused passwords keep theirs for the window."""
    for i in range(30):
        assert await throttle.acquire("same@example.test", "10.2.2.2", f"a{i}") == 0
        await throttle.abandoned("same@example.test", "10.2.2.2", f"a{i}")
    for i in range(20):
        assert await throttle.acquire(f"guess{i}@example.test", "10.2.2.2", f"g{i}") is not None
        await throttle.failed(f"guess{i}@example.test", "10.2.2.2", f"g{i}")
    assert await throttle.acquire("late@example.test", "10.2.2.2") is None


@pytest.mark.slow
async def test_an_attempt_whose_process_died_stops_counting_after_its_short_life(throttle):
    limits = LoginLimits(failures_per_pair=5, failures_per_address=3, failure_window_seconds=60, attempt_seconds=1)
    short = LoginThrottle(throttle.counter, limits)
    assert await short.acquire("a@example.test", "10.3.3.3", "failed") is not None
    await short.failed("a@example.test", "10.3.3.3", "failed")
    # two attempts that never end: their process was killed between the slot and the password check
    assert await short.acquire("b@example.test", "10.3.3.3", "lost-1") is not None
    assert await short.acquire("c@example.test", "10.3.3.3", "lost-2") is not None
    assert await short.acquire("d@example.test", "10.3.3.3") is None
    await asyncio.sleep(1.3)
    # the lost attempts no longer count, the refused password still does (1 + 2 = the limit)
    assert await short.acquire("d@example.test", "10.3.3.3", "d") is not None
    assert await short.acquire("e@example.test", "10.3.3.3", "e") is not None
    assert await short.acquire("f@example.test", "10.3.3.3") is None
