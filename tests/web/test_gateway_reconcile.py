"""The reconcile: a periodic sweep looks recent payments up at the gateway, so a cancellation made
there is noticed even when no webhook arrives (none configured, or lost), and is recorded once
whether the reconcile, the webhook or both see it, at the same time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.models.base import utcnow
from app.models.orders import OrderStatus
from app.models.payments import Payment, PaymentStatus
from app.payments.gateway_changes import reconcile_recent
from app.settings import SANDBOX_WEBHOOK_SECRET
from tasks.payments import reconcile_payments
from tasks.web import sweeps
from tests.helpers import gateway as gw


@pytest.fixture
def settings(settings):
    # the gateway sends no webhooks; the background loop's own sweeps stay out of the way
    return settings.with_changes(payment_webhook_secret=None, sweep_seconds=3600)


@pytest.fixture
async def shop(app):
    with gw.in_process_gateway(app):
        yield app


def settled(entries: int):
    return lambda state: len(state.nets) == entries


def reconcile(app, **kw):
    services = app.state.services
    return reconcile_recent(app.state.database, services.gateway, days=kw.pop("days", 30), batch=100, **kw)


async def test_without_a_webhook_the_sweep_finds_a_cancellation_made_at_the_gateway(client, shop, members, products):
    assert (await client.post("/payments/webhook", content=b"{}")).status_code == 404  # none mounted
    paid = await gw.pay_through_checkout(client, shop, members, products)
    await gw.cancel_at_gateway(client, paid.payment_key, reason="refunded by phone")
    assert (await gw.money(shop, paid.order_id)).order is OrderStatus.PAID  # nobody told the shop yet
    assert reconcile_payments.send in sweeps()  # one of the web process's periodic sweeps
    reconcile_payments.send()  # as the background loop sends it
    state = await gw.money_when(shop, paid.order_id, settled(2), "the reconcile to record the cancellation")
    assert state.order is OrderStatus.REFUNDED
    assert state.payment is PaymentStatus.CANCELLED and state.refunded == 10_000
    assert [(a, q) for a, q, _ in state.refunds] == [(10_000, 1)] and state.nets == [-9_000, 9_000]
    assert state.outside_audits == 1 and state.taken == 0
    assert sum((await reconcile(shop)).values()) == 0  # wholly cancelled: never looked up again
    assert (await gw.money(shop, paid.order_id)).refunds == state.refunds


async def test_the_reconcile_records_a_partial_cancellation_once_per_look(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    await gw.cancel_at_gateway(client, paid.payment_key, amount=2_500)
    assert (await reconcile(shop))["recorded"] == 1
    assert (await reconcile(shop))["unchanged"] == 1  # looked again: already recorded
    state = await gw.money_when(shop, paid.order_id, settled(2), "the settlement reversal")
    assert state.order is OrderStatus.PARTIALLY_REFUNDED and state.payment is PaymentStatus.PARTIALLY_CANCELLED
    assert [(a, q) for a, q, _ in state.refunds] == [(2_500, 0)] and state.refunded == 2_500
    assert state.nets == [-2_250, 9_000] and state.taken == 1 and state.outside_audits == 1


async def test_only_recent_payments_are_looked_up(client, shop, members, products):
    paid = await gw.pay_through_checkout(client, shop, members, products)
    async with shop.state.database.transaction() as db:
        await db.execute(update(Payment).values(approved_at=utcnow() - timedelta(days=40)))
    await gw.cancel_at_gateway(client, paid.payment_key)
    assert sum((await reconcile(shop)).values()) == 0
    assert (await gw.money(shop, paid.order_id)).lookups == 0


class TestWithTheWebhookToo:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_changes(payment_webhook_secret=SANDBOX_WEBHOOK_SECRET)

    async def test_webhooks_and_reconciles_at_once_record_a_cancellation_once(self, client, shop, members, products):
        paid = await gw.pay_through_checkout(client, shop, members, products)
        cancelled = await gw.cancel_at_gateway(client, paid.payment_key)  # the sandbox sends its webhook too
        webhooks = [gw.post_webhook(client, cancelled, SANDBOX_WEBHOOK_SECRET) for _ in range(4)]
        results = await asyncio.gather(*webhooks, *(reconcile(shop) for _ in range(3)))
        assert {r.status_code for r in results[:4]} == {200}
        state = await gw.money_when(shop, paid.order_id, settled(2), "the settlement reversal")
        assert state.order is OrderStatus.REFUNDED and state.payment is PaymentStatus.CANCELLED
        assert len(state.refunds) == 1 and state.refunded == 10_000 and state.outside_audits == 1
        assert state.nets == [-9_000, 9_000] and state.taken == 0 and state.refund_ledger_rows == 1
