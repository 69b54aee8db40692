"""The sandbox gateway shared by several hosts: two apps, each with its own ``var`` directory, keep
the sandbox's state in one store (the shop's PostgreSQL database, or the store
``SANDBOX_GATEWAY_DATABASE_URL`` names), so a checkout opened through one is confirmed, looked up
and cancelled through the other, and concurrent calls spread across both stay serialised."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.gateway import GatewayClient, GatewayError
from app.gateway.sandbox_store import SCHEMA, PostgresSandboxStore, SandboxTx, sandbox_store
from app.settings import Settings
from tasks.web import create_app
from tests.helpers.backends import TEST_DATABASE_URL, postgres_only
from tests.helpers.gateway import sandbox_checkout

BASE = "http://testserver/sandbox-gateway"


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture(
    params=[
        pytest.param("shop-database", marks=postgres_only),
        pytest.param("own-url"),
    ]
)
def shared_settings(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The settings of two hosts' sandbox: the shop's PostgreSQL database itself, or (on either
    backend) a SQLite file named by ``SANDBOX_GATEWAY_DATABASE_URL`` that both reach."""
    if request.param == "own-url":
        url = f"sqlite:///{tmp_path / 'shared' / 'sandbox.sqlite3'}"
        return settings.with_changes(sandbox_gateway_database_url=url)
    return settings


@pytest.fixture
async def hosts(app: Litestar, shared_settings: Settings, tmp_path: Path) -> AsyncIterator[list[Litestar]]:
    """Two running apps (`app` first: it cleans the database), each with a var directory of its own."""
    apps = [create_app(shared_settings.with_changes(var_dir=tmp_path / f"host-{name}")) for name in "ab"]
    async with AsyncTestClient(app=apps[0]), AsyncTestClient(app=apps[1]):
        yield apps


def gateway_of(app: Litestar, timeout: float = 10.0) -> GatewayClient:
    return GatewayClient(
        BASE, app.state.settings.payment_secret_key, timeout=timeout, transport=httpx.ASGITransport(app=app)
    )


async def test_a_checkout_opened_on_one_host_is_confirmed_looked_up_and_cancelled_on_the_other(hosts):
    a, b = gateway_of(hosts[0]), gateway_of(hosts[1])
    payment_key, order_id, amount = await sandbox_checkout(hosts[0], amount=10_000)
    paid = await b.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert paid.status == "DONE"
    assert (await a.lookup(payment_key)).raw == paid.raw
    assert (await a.lookup_by_order(order_id)).raw == paid.raw
    partly = await a.cancel(payment_key, "one item returned", amount=4_000, idempotency_key=key())
    assert (partly.status, partly.balance_amount) == ("PARTIAL_CANCELED", 6_000)
    assert (await b.lookup(payment_key)).raw == partly.raw
    rest = await b.cancel(payment_key, "order cancelled", amount=None, idempotency_key=key())
    assert (rest.status, rest.balance_amount, [c.amount for c in rest.cancels]) == ("CANCELED", 0, [4_000, 6_000])
    with pytest.raises(GatewayError) as again:
        await a.cancel(payment_key, "again", amount=None, idempotency_key=key())
    assert again.value.code == "ALREADY_CANCELED_PAYMENT"
    await a.aclose()
    await b.aclose()


async def test_one_key_replayed_20_times_across_two_hosts_approves_once_and_answers_alike(hosts):
    gateways = [gateway_of(app) for app in hosts]
    payment_key, order_id, amount = await sandbox_checkout(hosts[1])
    same = key()
    answers = await asyncio.gather(
        *(gateways[i % 2].confirm(payment_key, order_id, amount, idempotency_key=same) for i in range(20))
    )
    assert answers[0].status == "DONE" and all(a.raw == answers[0].raw for a in answers)
    looked_up = await gateways[0].lookup(payment_key)
    assert looked_up.raw["lastTransactionKey"] == answers[0].raw["lastTransactionKey"]
    with pytest.raises(GatewayError) as reused:
        await gateways[1].confirm(payment_key, order_id, amount + 1, idempotency_key=same)
    assert (reused.value.code, reused.value.http_status) == ("INVALID_IDEMPOTENCY_KEY", 422)
    for gateway in gateways:
        await gateway.aclose()


async def test_confirms_and_cancels_with_different_keys_at_once_on_two_hosts_take_effect_once(hosts):
    gateways = [gateway_of(app) for app in hosts]
    payment_key, order_id, amount = await sandbox_checkout(hosts[0])

    async def attempt(call) -> str:
        try:
            return (await call).status
        except GatewayError as refused:
            return refused.code

    confirms = await asyncio.gather(
        *(attempt(gateways[i % 2].confirm(payment_key, order_id, amount, idempotency_key=key())) for i in range(10))
    )
    assert sorted(confirms) == ["ALREADY_PROCESSED_PAYMENT"] * 9 + ["DONE"]
    cancels = await asyncio.gather(
        *(attempt(gateways[i % 2].cancel(payment_key, "cancel", amount=None, idempotency_key=key())) for i in range(6))
    )
    assert sorted(cancels) == ["ALREADY_CANCELED_PAYMENT"] * 5 + ["CANCELED"]
    final = await gateways[1].lookup(payment_key)
    assert (final.status, final.balance_amount, len(final.cancels)) == ("CANCELED", 0, 1)
    for gateway in gateways:
        await gateway.aclose()


@postgres_only
async def test_three_hosts_starting_at_once_make_the_schema_once(settings: Settings):
    plain = TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()
    stores = [sandbox_store(settings) for _ in range(3)]
    assert all(isinstance(store, PostgresSandboxStore) for store in stores)

    async def first_call(tx: SandboxTx) -> None:
        assert await tx.get_payment("tsbx_none") is None

    await asyncio.gather(*(store.transaction(first_call) for store in stores))
    for store in stores:
        await store.dispose()
