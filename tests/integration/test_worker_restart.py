"""A worker killed between the gateway's refund and its own database commit: after a restart the
refund completes once, and the journey goes on to a full refund (PostgreSQL + Redis, a real
Dramatiq worker process, the sandbox gateway over real HTTP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.gateway.client import make_gateway_client
from app.models.events import OutboxEvent
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment, PaymentStatus, Refund, RefundStatus, SettlementEntry
from tests.helpers.backends import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.helpers.orders import open_checkout, pay_with
from tests.helpers.waiting import wait_for
from tests.helpers.web import login, post_form, second_browser

pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL), reason="a separate worker process needs PostgreSQL and Redis"
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings):
    # No worker inside the test process: the worker process does the work. The sandbox refunds at
    # once but answers a refund only after 6 s, the window in which the worker is killed.
    return settings.with_changes(
        in_process_worker=False, sweep_seconds=0.5, payment_stale_seconds=1.0, sandbox_cancel_delay_seconds=6.0
    )


def start_worker(settings, gateway: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")} | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "SMORE_VAR_DIR": str(settings.var_dir),
        "PAYMENT_GATEWAY_URL": gateway,
        "SANDBOX_GATEWAY": "1",  # the test's own sandbox, with its public test keys
        "PAYMENT_STALE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1", "--threads", "2"]
    out = log.open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)


def kill(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)  # no clean shutdown: as if the machine lost power
    worker.wait(timeout=10)


async def test_a_refund_interrupted_by_a_killed_worker_completes_once(
    client,
    app,
    members,
    products,
    live_server,
    settings,
    tmp_path,
):
    transport = httpx.ASGITransport(app=app)
    app.state.gateway_transport = transport
    _, order_id, _, query = await open_checkout(client, app, members, products)
    await client.get(await pay_with(client, query, "approve"))
    async with app.state.database.transaction() as db:
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
    gateway = make_gateway_client(settings, transport=transport)

    async def gateway_cancels() -> int:
        return len((await gateway.lookup(payment.payment_key)).cancels)

    log = tmp_path / "worker.log"
    first = start_worker(settings, f"{live_server}/sandbox-gateway", log)
    try:
        r = await post_form(client, f"/orders/{order_id}/refund", {"quantity": "0", "amount": "4000", "reason": "x"})
        assert r.status_code == 303
        async with app.state.database.transaction() as db:
            requested = (await db.execute(select(Refund))).scalar_one()
        admin = await members.admin()
        async with second_browser(client) as deciding:  # money only: an admin approves it
            await login(deciding, admin.email)
            assert (await post_form(deciding, f"/admin/refunds/{requested.id}/approve")).status_code == 303
        await wait_for(gateway_cancels, 30, "the gateway to refund")  # refunded, its answer not yet sent
    finally:
        kill(first)
    async with app.state.database.transaction() as db:
        refund = (await db.execute(select(Refund))).scalar_one()
    assert refund.status is RefundStatus.RESERVED, "the worker died before recording the refund"

    second = start_worker(settings, f"{live_server}/sandbox-gateway", log)
    try:

        async def done() -> Refund | None:
            async with app.state.database.transaction() as db:
                found = await db.get(Refund, refund.id)
                return found if found.status is not RefundStatus.RESERVED else None

        finished = await wait_for(done, 45, "the restarted worker to finish the refund")
        assert finished.status is RefundStatus.DONE
        assert await gateway_cancels() == 1, "the gateway refunded twice"
        # the rest of the journey on the same worker: the unit returned, the order fully refunded
        r = await post_form(client, f"/orders/{order_id}/refund", {"quantity": "1", "amount": "", "reason": "y"})
        assert r.status_code == 303

        async def refunded() -> bool:
            async with app.state.database.transaction() as db:
                return (await db.get(Order, order_id)).status is OrderStatus.REFUNDED

        await wait_for(refunded, 45, "the second refund")
    finally:
        kill(second)
    assert await gateway_cancels() == 2
    await gateway.aclose()
    async with app.state.database.transaction() as db:
        payment = await db.get(Payment, payment.id)
        assert payment.status is PaymentStatus.CANCELLED
        assert payment.refunded_amount == 10_000 and payment.refund_reserved == 0
        done_events = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "refund.done")
        assert await db.scalar(done_events) == 2
        assert await db.scalar(select(func.count()).select_from(SettlementEntry).where(SettlementEntry.net < 0)) <= 2
