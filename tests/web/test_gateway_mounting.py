"""The sandbox gateway is mounted only in the embedded default or with SANDBOX_GATEWAY=1; a shop
with no gateway at all refuses to start and says what to set."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from app.settings import SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET, Settings, SettingsError
from tasks.web import create_app

POSTGRES = "postgres://shop@db.internal/smore"
CHECKOUT = "/sandbox-gateway/checkout?clientKey=test_ck_smore_sandbox"


def from_env(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"SMORE_VAR_DIR": str(tmp_path), **env})


def test_the_embedded_default_mounts_the_sandbox_with_its_webhook(tmp_path):
    settings = from_env(tmp_path)
    assert settings.sandbox_gateway and settings.gateway_problem() is None
    assert settings.payment_webhook_secret == SANDBOX_WEBHOOK_SECRET


@pytest.mark.parametrize("env", [{"DATABASE_URL": POSTGRES}, {"REDIS_URL": "redis://cache.internal:6379/0"}])
def test_production_without_a_gateway_fails_at_start_up_with_what_to_set(tmp_path, env):
    settings = from_env(tmp_path, **env)
    assert not settings.sandbox_gateway and settings.payment_webhook_secret is None
    with pytest.raises(SettingsError, match=r"PAYMENT_GATEWAY_URL.*SANDBOX_GATEWAY=1"):
        create_app(settings)


def test_production_with_the_sandboxs_public_secret_fails_at_start_up(tmp_path):
    settings = from_env(tmp_path, DATABASE_URL=POSTGRES, PAYMENT_GATEWAY_URL="https://api.tosspayments.com")
    assert settings.payment_secret_key == SANDBOX_SECRET_KEY
    with pytest.raises(SettingsError, match="PAYMENT_SECRET_KEY"):
        create_app(settings)


def test_sandbox_gateway_1_mounts_it_in_production(tmp_path):
    settings = from_env(tmp_path, DATABASE_URL=POSTGRES, SANDBOX_GATEWAY="1")
    assert settings.sandbox_gateway and settings.payment_webhook_secret == SANDBOX_WEBHOOK_SECRET
    assert settings.gateway_problem() is None


async def test_with_a_real_gateway_the_sandbox_and_an_unsigned_webhook_are_not_there(settings):
    real = settings.with_changes(
        sandbox_gateway=False,
        payment_gateway_url="https://api.tosspayments.com",
        payment_secret_key="live_sk_from_the_console",
        payment_webhook_secret=None,
    )
    async with AsyncTestClient(app=create_app(real)) as client:
        assert (await client.get(CHECKOUT)).status_code == 404
        assert (await client.post("/sandbox-gateway/v1/payments/confirm", json={})).status_code == 404
        assert (await client.post("/payments/webhook", content=b"{}")).status_code == 404


async def test_with_sandbox_gateway_on_its_checkout_answers(settings):
    async with AsyncTestClient(app=create_app(settings.with_changes(sandbox_gateway=True))) as client:
        r = await client.get(CHECKOUT)
        assert r.status_code == 400 and "orderId" in r.text  # the sandbox's own answer, not the shop's 404
