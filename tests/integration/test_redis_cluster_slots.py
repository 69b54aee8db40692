"""Every Redis command of the shop that names several keys (the gate's scripts and transaction,
the login throttle's scripts, the drop telemetry, the process heartbeats) names keys of one hash
slot, so Redis Cluster accepts them.

Checked against a real Redis in cluster mode: one node that owns all 16,384 slots refuses a
command whose keys hash to different slots (``CROSSSLOT``) as any cluster does, while a plain
client can still talk to it (every slot is local, so no redirect ever comes back). The first test
shows that the check can fail."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import ResponseError

from app.accounts.throttle import RedisCounter
from app.admin.ops_heartbeats import Heartbeat, PoolUsage, RedisHeartbeats
from app.drops.gate import RedisGate, StockChange
from app.drops.telemetry import BatchRecord, RedisTelemetry
from app.models.base import utcnow
from tests.helpers.backends import _free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs Debian's redis-server")


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Redis Cluster owning every slot, on a free port, in a folder of its own."""
    folder = tmp_path_factory.mktemp("redis-cluster")
    port = _free_port()
    server = subprocess.Popen(
        [
            str(REDIS_SERVER),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-port",  # the bus, else port + 10,000: past 65,535 for a high free port
            str(_free_port()),
            "--cluster-config-file",
            str(folder / "nodes.conf"),
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        cli = ["redis-cli", "-p", str(port)]
        deadline = time.monotonic() + 10
        while subprocess.run([*cli, "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            log = (folder / "redis.log").read_text()
            assert server.poll() is None and time.monotonic() < deadline, f"redis-server did not start: {log}"
            time.sleep(0.05)
        subprocess.run([*cli, "cluster", "addslotsrange", "0", "16383"], check=True, capture_output=True)
        info = [*cli, "cluster", "info"]
        while "cluster_state:ok" not in subprocess.run(info, capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "the one-node cluster did not take its slots"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture
async def redis(cluster_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(cluster_url)
    await client.flushall()
    yield client
    await client.aclose()


async def test_the_cluster_refuses_a_script_whose_keys_lie_in_two_slots(redis: Redis) -> None:
    two_keys = "return redis.call('MGET', KEYS[1], KEYS[2])"
    assert key_slot(b"smore:gate:7:s") != key_slot(b"smore:gate:7:m")
    with pytest.raises(ResponseError, match=r"CROSSSLOT|same slot"):
        await redis.eval(two_keys, 2, "smore:gate:7:s", "smore:gate:7:m")
    assert await redis.eval(two_keys, 2, "smore:gate:{7}:s", "smore:gate:{7}:m") == [None, None]


async def test_the_gate_runs_on_redis_cluster(cluster_url: str, redis: Redis) -> None:
    gate = RedisGate(cluster_url)
    try:
        loaded = await gate.load(7, left=5, limit=2, holdings={1: 1}, version=10, keys={"a": "granted:1"})
        assert loaded.applied
        assert await gate.apply(StockChange(7, 11, -2, {2: 1, 3: 1}))
        await gate.settle(7, {"b": "granted:2", "c": "granted:3"}, StockChange(7, 12, -1, {4: 1}))
        state = await gate.state(7)
        assert state is not None and (state.left, state.holdings, state.version) == (2, {1: 1, 2: 1, 3: 1, 4: 1}, 12)
        assert await gate.lookup(7, "b") == "granted:2"
        slots = {key_slot(key) async for key in redis.scan_iter(match="smore:gate:*")}
        assert len(slots) == 1  # stock, holdings and every remembered answer of product 7
        await gate.forget(7)  # one DEL of all of them
        assert await gate.state(7) is None and await gate.lookup(7, "b") is None
    finally:
        await gate.close()


async def test_the_login_throttle_runs_on_redis_cluster(cluster_url: str) -> None:
    counter = RedisCounter(cluster_url)
    try:
        assert await counter.take("pair:ann@example.com|10.0.0.1", "t1", 5, 30) == 0
        await counter.fail("pair:ann@example.com|10.0.0.1", "t1", 900)
        assert await counter.take("pair:ann@example.com|10.0.0.1", "t2", 5, 30) == 1
        await counter.release("pair:ann@example.com|10.0.0.1", "t2")
        await counter.forget("pair:ann@example.com|10.0.0.1")
        assert await counter.take("pair:ann@example.com|10.0.0.1", "t3", 5, 30) == 0
    finally:
        await counter.close()


async def test_the_drop_telemetry_runs_on_redis_cluster(cluster_url: str) -> None:
    telemetry = RedisTelemetry(cluster_url)
    now = utcnow()
    try:
        for product_id in (7, 8):
            await telemetry.record_batch(BatchRecord(product_id, 3, 0.002, {"granted": 2, "sold_out": 1}, now))
        await telemetry.flush()
        window = await telemetry.window([7, 8], 5, now + timedelta(milliseconds=1))
        assert [sum(row.presses for row in window[p]) for p in (7, 8)] == [3, 3]
    finally:
        await telemetry.close()


async def test_the_process_heartbeats_run_on_redis_cluster(cluster_url: str) -> None:
    heartbeats = RedisHeartbeats(cluster_url)
    beats = [Heartbeat(f"web-{n}", 100 + n, "web", n, PoolUsage(1, 10), utcnow()) for n in range(5)]
    try:
        for beat in beats:
            await heartbeats.beat(beat)
        alive = await heartbeats.alive()  # one MGET of every process's key
        assert [b.host for b in alive] == [b.host for b in beats]
        await heartbeats.forget(beats[0])
        assert len(await heartbeats.alive()) == 4
    finally:
        await heartbeats.close()


def test_every_redis_script_of_the_shop_is_run_on_the_cluster_here() -> None:
    """A new multi-key script elsewhere needs its own test above."""
    covered = {"app/accounts/throttle.py", "app/drops/gate.py", "app/drops/telemetry.py"}
    found = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if "register_script(" in path.read_text() or ".eval(" in path.read_text()
    }
    assert found == covered
