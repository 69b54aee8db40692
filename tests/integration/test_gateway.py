"""The gateway client against the sandbox gateway mounted in the app, over HTTP (httpx's ASGI
transport): every test card, lost answers, idempotent replays, cancels and the audit trail."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC

import httpx
import pytest

from app.gateway import (
    Exchange,
    GatewayClient,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    make_gateway_client,
)
from app.gateway.client import REDACTED
from app.gateway.errors import GENERIC_MESSAGE
from app.settings import Settings
from tests.helpers.gateway import sandbox_checkout

BASE = "http://testserver/sandbox-gateway"


# The client waits 2 s and a hanging card hangs 5 s: far enough apart that a busy machine's slow
# answer is never taken for a hang, and a hang is never waited out.
CLIENT_WAIT, HANG = 2.0, 5.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_changes(gateway_timeout_seconds=CLIENT_WAIT, sandbox_hang_seconds=HANG)


@pytest.fixture
def exchanges() -> list[Exchange]:
    return []


@pytest.fixture
async def gateway(app, exchanges):
    client = GatewayClient(
        BASE,
        app.state.settings.payment_secret_key,
        timeout=app.state.settings.gateway_timeout_seconds,
        transport=httpx.ASGITransport(app=app),
        on_exchange=exchanges.append,
    )
    yield client
    await client.aclose()


def key() -> str:
    return uuid.uuid4().hex


async def test_an_approving_card_is_confirmed_and_can_be_looked_up(app, gateway):
    payment_key, order_id, amount = await sandbox_checkout(app)
    paid = await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert (paid.status, paid.payment_key, paid.order_id) == ("DONE", payment_key, order_id)
    assert paid.total_amount == paid.balance_amount == amount
    assert paid.method and paid.cancels == []
    assert paid.approved_at is not None and paid.approved_at.tzinfo == UTC
    assert (await gateway.lookup(payment_key)).raw == paid.raw
    assert (await gateway.lookup_by_order(order_id)).raw == paid.raw


@pytest.mark.parametrize(
    ("card", "code", "words"),
    [("decline", "REJECT_CARD_PAYMENT", "declined"), ("insufficient", "REJECT_ACCOUNT_PAYMENT", "not enough funds")],
)
async def test_refusing_cards_raise_the_gateway_code_and_a_message_for_the_shopper(app, gateway, card, code, words):
    payment_key, order_id, amount = await sandbox_checkout(app, card)
    with pytest.raises(GatewayError) as refused:
        await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert type(refused.value) is GatewayError
    assert (refused.value.code, refused.value.http_status) == (code, 403)
    assert words in refused.value.user_message and "Nothing was charged" in refused.value.user_message
    assert (await gateway.lookup(payment_key)).status == "ABORTED"


async def test_a_confirm_that_times_out_is_looked_up_and_reported_as_not_charged(app, gateway, exchanges):
    payment_key, order_id, amount = await sandbox_checkout(app, "timeout")
    started = time.monotonic()
    with pytest.raises(GatewayTimeout) as timed_out:
        await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert time.monotonic() - started < HANG - 1  # the client's wait, not the sandbox's hang
    assert timed_out.value.code == "GATEWAY_TIMEOUT" and "did not answer" in timed_out.value.user_message
    assert [(e.operation, e.http_status) for e in exchanges] == [("confirm", None), ("lookup", 200)]
    assert exchanges[0].error and "GatewayTimeout" in exchanges[0].error
    assert (await gateway.lookup(payment_key)).status == "IN_PROGRESS"


async def test_an_approval_whose_answer_is_lost_is_found_by_the_lookup(app, gateway, exchanges):
    payment_key, order_id, amount = await sandbox_checkout(app, "lost-response")
    paid = await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert paid.status == "DONE" and paid.total_amount == amount
    assert [(e.operation, e.http_status) for e in exchanges] == [("confirm", None), ("lookup", 200)]


async def test_a_tampered_amount_or_order_id_or_an_unknown_key_is_refused(app, gateway):
    payment_key, order_id, amount = await sandbox_checkout(app)
    with pytest.raises(GatewayError) as wrong_amount:
        await gateway.confirm(payment_key, order_id, amount - 1_000, idempotency_key=key())
    assert (wrong_amount.value.code, wrong_amount.value.http_status) == ("AMOUNT_MISMATCH", 400)
    assert "did not match" in wrong_amount.value.user_message
    with pytest.raises(GatewayError) as wrong_order:
        await gateway.confirm(payment_key, "order-someone-else", amount, idempotency_key=key())
    assert (wrong_order.value.code, wrong_order.value.http_status) == ("INVALID_REQUEST", 400)
    with pytest.raises(GatewayError) as unknown:
        await gateway.confirm("tsbx_unknown", order_id, amount, idempotency_key=key())
    assert (unknown.value.code, unknown.value.http_status) == ("NOT_FOUND_PAYMENT", 404)
    assert (await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())).status == "DONE"


async def test_one_key_replayed_20_times_at_once_approves_once_and_answers_alike(app, exchanges):
    # 20 confirms at once queue on the sandbox's one writer: the fixture's wait (made for the
    # timeout tests) may be too short for the last of them on a busy machine
    gateway = GatewayClient(
        BASE,
        app.state.settings.payment_secret_key,
        timeout=10,
        transport=httpx.ASGITransport(app=app),
        on_exchange=exchanges.append,
    )
    payment_key, order_id, amount = await sandbox_checkout(app)
    same = key()
    answers = await asyncio.gather(
        *(gateway.confirm(payment_key, order_id, amount, idempotency_key=same) for _ in range(20))
    )
    assert all(a.raw == answers[0].raw for a in answers) and answers[0].status == "DONE"
    assert {(e.http_status, str(e.response_body)) for e in exchanges} == {(200, str(answers[0].raw))}
    assert (await gateway.lookup(payment_key)).raw["lastTransactionKey"] == answers[0].raw["lastTransactionKey"]
    with pytest.raises(GatewayError) as reused:
        await gateway.confirm(payment_key, order_id, amount + 1, idempotency_key=same)
    assert (reused.value.code, reused.value.http_status) == ("INVALID_IDEMPOTENCY_KEY", 422)
    with pytest.raises(GatewayError) as again:
        await gateway.confirm(payment_key, order_id, amount, idempotency_key=key())
    assert (again.value.code, again.value.http_status) == ("ALREADY_PROCESSED_PAYMENT", 400)
    await gateway.aclose()


async def test_partial_cancels_add_up_and_the_balance_bounds_them(app, gateway):
    payment_key, order_id, _ = await sandbox_checkout(app, amount=10_000)
    await gateway.confirm(payment_key, order_id, 10_000, idempotency_key=key())
    first = key()
    once = await gateway.cancel(payment_key, "one item returned", amount=3_000, idempotency_key=first)
    assert (once.status, once.balance_amount) == ("PARTIAL_CANCELED", 7_000)
    replayed = await gateway.cancel(payment_key, "one item returned", amount=3_000, idempotency_key=first)
    assert replayed.raw == once.raw
    twice = await gateway.cancel(payment_key, "second item", amount=4_000, idempotency_key=key())
    assert (twice.status, twice.balance_amount) == ("PARTIAL_CANCELED", 3_000)
    assert [c.amount for c in twice.cancels] == [3_000, 4_000] and twice.cancels[1].reason == "second item"
    assert len({c.transaction_key for c in twice.cancels}) == 2 and twice.cancels[0].canceled_at.tzinfo == UTC
    with pytest.raises(GatewayError) as too_much:
        await gateway.cancel(payment_key, "too much", amount=3_001, idempotency_key=key())
    assert (too_much.value.code, too_much.value.http_status) == ("NOT_CANCELABLE_AMOUNT", 403)
    rest = await gateway.cancel(payment_key, "order cancelled", amount=None, idempotency_key=key())
    assert (rest.status, rest.balance_amount, rest.cancels[-1].amount) == ("CANCELED", 0, 3_000)
    with pytest.raises(GatewayError) as done:
        await gateway.cancel(payment_key, "again", amount=None, idempotency_key=key())
    assert (done.value.code, done.value.user_message) == (
        "ALREADY_CANCELED_PAYMENT",
        "This payment has already been cancelled.",
    )


async def test_an_unpaid_session_cannot_be_cancelled(app, gateway):
    payment_key, _, _ = await sandbox_checkout(app)
    with pytest.raises(GatewayError) as refused:
        await gateway.cancel(payment_key, "changed my mind", amount=None, idempotency_key=key())
    assert (refused.value.code, refused.value.http_status) == ("NOT_CANCELABLE_PAYMENT", 403)


async def test_a_wrong_secret_key_is_refused(app):
    payment_key, order_id, amount = await sandbox_checkout(app)
    stranger = GatewayClient(BASE, "test_sk_not_ours", timeout=CLIENT_WAIT, transport=httpx.ASGITransport(app=app))
    try:
        with pytest.raises(GatewayError) as refused:
            await stranger.confirm(payment_key, order_id, amount, idempotency_key=key())
        assert (refused.value.code, refused.value.http_status) == ("UNAUTHORIZED_KEY", 401)
        assert "problem on our side" in refused.value.user_message
    finally:
        await stranger.aclose()


async def test_every_call_is_recorded_and_no_record_holds_the_secret(app, gateway, exchanges):
    secret = app.state.settings.payment_secret_key
    payment_key, order_id, amount = await sandbox_checkout(app)
    confirm_key = key()
    await gateway.confirm(payment_key, order_id, amount, idempotency_key=confirm_key)
    await gateway.lookup(payment_key)
    await gateway.lookup_by_order(order_id)
    with pytest.raises(GatewayError):
        await gateway.cancel(payment_key, "too much", amount=amount + 1, idempotency_key=key())
    assert [e.operation for e in exchanges] == ["confirm", "lookup", "lookup_by_order", "cancel"]
    confirm, _, by_order, cancel = exchanges
    assert (confirm.method, confirm.path, confirm.http_status) == ("POST", "/v1/payments/confirm", 200)
    assert confirm.request_body == {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
    assert confirm.idempotency_key == confirm_key == confirm.request_headers["Idempotency-Key"]
    assert by_order.path == f"/v1/payments/orders/{order_id}" and by_order.idempotency_key is None
    assert cancel.http_status == 403 and cancel.response_body["code"] == "NOT_CANCELABLE_AMOUNT" and cancel.error
    for exchange in exchanges:
        assert exchange.request_headers["Authorization"] == REDACTED
        assert secret not in repr(exchange) and gateway._auth.split()[1] not in repr(exchange)
        assert exchange.duration_ms >= 0


async def test_an_unreachable_gateway_is_unavailable_without_a_lookup(exchanges):
    client = GatewayClient("http://127.0.0.1:9/gateway", "test_sk", timeout=2, on_exchange=exchanges.append)
    try:
        with pytest.raises(GatewayUnavailable) as unreachable:
            await client.confirm("tsbx_x", "order-x1", 1_000, idempotency_key=key())
    finally:
        await client.aclose()
    assert unreachable.value.http_status is None and unreachable.value.user_message
    assert [(e.operation, e.http_status) for e in exchanges] == [("confirm", None)]


async def test_a_5xx_confirm_is_settled_by_a_lookup(app, gateway):
    """A gateway answering 5xx to confirm (a fake edge in front of the sandbox) may still have
    approved: the client looks the payment up before deciding."""
    payment_key, order_id, amount = await sandbox_checkout(app)
    sandbox = httpx.ASGITransport(app=app)

    async def edge(request: httpx.Request) -> httpx.Response:
        answer = await sandbox.handle_async_request(request)
        await answer.aread()
        if request.url.path.endswith("/confirm"):
            return httpx.Response(502, json={"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "bad gateway"})
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    flaky = GatewayClient(BASE, app.state.settings.payment_secret_key, transport=httpx.MockTransport(edge))
    try:
        assert (await flaky.confirm(payment_key, order_id, amount, idempotency_key=key())).status == "DONE"
        declined_key, declined_order, declined_amount = await sandbox_checkout(app, "decline")
        with pytest.raises(GatewayError) as declined:
            await flaky.confirm(declined_key, declined_order, declined_amount, idempotency_key=key())
        assert (declined.value.code, declined.value.http_status) == ("REJECT_CARD_PAYMENT", 502)
        pending_key, pending_order, pending_amount = await sandbox_checkout(app, "approve")
        with pytest.raises(GatewayUnavailable) as failed:
            await flaky.confirm(pending_key, pending_order, pending_amount + 1, idempotency_key=key())
        assert (failed.value.code, failed.value.http_status) == ("FAILED_INTERNAL_SYSTEM_PROCESSING", 502)
        assert (await flaky.lookup(pending_key)).status == "IN_PROGRESS"
    finally:
        await flaky.aclose()


def test_unknown_codes_get_a_generic_sentence():
    assert GatewayError("SOMETHING_NEW", "?", 400).user_message == GENERIC_MESSAGE


def test_settings_point_the_client_at_the_sandbox_unless_a_gateway_url_is_given(tmp_path):
    embedded = Settings.from_env({"SMORE_VAR_DIR": str(tmp_path), "SECRET_KEY": "k", "PORT": "8123"})
    assert embedded.sandbox_gateway and embedded.gateway_base_url == "http://127.0.0.1:8123/sandbox-gateway"
    real = Settings.from_env(
        {
            "SMORE_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k",
            "PAYMENT_GATEWAY_URL": "https://api.gateway.test/",
            "PAYMENT_SECRET_KEY": "live_sk_1",
            "GATEWAY_TIMEOUT_SECONDS": "4.5",
        }
    )
    assert not real.sandbox_gateway and real.gateway_base_url == "https://api.gateway.test"
    client = make_gateway_client(real)
    assert (client.base_url, client.timeout) == ("https://api.gateway.test", 4.5)
