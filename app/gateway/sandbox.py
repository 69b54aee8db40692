"""The sandbox payment gateway: the TossPayments-style v1 API and a hosted checkout page with test
cards, mounted under ``/sandbox-gateway`` in the embedded default.

It is a separate system from the shop: its state lives in a store of its own
(``app.gateway.sandbox_store``: a SQLite file under ``var/``, or its own schema in the shop's
PostgreSQL database, which every host shares), it answers JSON error objects rather than the shop's
pages, and it neither loads the shop's member nor uses its session or CSRF token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from app.db import connection_shortage, write_contention
from app.gateway import sandbox_payments as payments
from app.gateway.sandbox_checkout import checkout_page, checkout_submit
from app.gateway.sandbox_store import SandboxStore, SandboxTx, sandbox_store
from app.gateway.sandbox_webhooks import SandboxWebhooks
from app.settings import Settings

log = logging.getLogger(__name__)

PATH = "/sandbox-gateway"

Work = Callable[[SandboxTx, dict[str, Any] | None], Awaitable[payments.Reply]]


@dataclass(frozen=True)
class SandboxGateway:
    store: SandboxStore
    secret_key: str
    client_key: str
    hang_seconds: float
    cancel_delay_seconds: float = 0.0  # answer a done refund this late (a window to lose the answer in)
    webhooks: SandboxWebhooks | None = None  # None: no webhook secret, so no webhooks are sent

    def authorised(self, header: str | None) -> bool:
        """``Authorization: Basic base64(secretKey + ":")``."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[len("Basic ") :], validate=True)
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, f"{self.secret_key}:".encode())


def sandbox_gateway(settings: Settings) -> SandboxGateway:
    """The sandbox of ``settings``; its store's engine is the caller's to dispose of."""
    return SandboxGateway(
        store=sandbox_store(settings),
        secret_key=settings.payment_secret_key,
        client_key=settings.payment_client_key,
        hang_seconds=settings.sandbox_hang_seconds,
        cancel_delay_seconds=settings.sandbox_cancel_delay_seconds,
        webhooks=SandboxWebhooks(settings.payment_webhook_secret) if settings.payment_webhook_secret else None,
    )


def sandbox_gateway_router(gateway: SandboxGateway) -> Router:
    return Router(
        path=PATH,
        route_handlers=[
            confirm_payment,
            lookup_payment,
            lookup_payment_by_order,
            cancel_payment,
            checkout_page,
            checkout_submit,
        ],
        dependencies={"gateway": Provide(lambda: gateway, sync_to_thread=False)},
        opt={"loads_member": False, "skip_session": True, "exclude_from_csrf": True},
        signature_namespace={"SandboxGateway": SandboxGateway},
        include_in_schema=False,
    )


@post("/v1/payments/confirm", name="sandbox_gateway:confirm")
async def confirm_payment(request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway]) -> Response[Any]:
    return await _answer(request, gateway, lambda tx, body: payments.confirm(tx, body or {}), idempotent=True)


@get("/v1/payments/{payment_key:str}", name="sandbox_gateway:lookup")
async def lookup_payment(
    request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway], payment_key: FromPath[str]
) -> Response[Any]:
    return await _answer(request, gateway, lambda tx, _: payments.lookup(tx, payment_key), idempotent=False)


@get("/v1/payments/orders/{order_id:str}", name="sandbox_gateway:lookup_by_order")
async def lookup_payment_by_order(
    request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway], order_id: FromPath[str]
) -> Response[Any]:
    return await _answer(request, gateway, lambda tx, _: payments.lookup_by_order(tx, order_id), idempotent=False)


@post("/v1/payments/{payment_key:str}/cancel", name="sandbox_gateway:cancel")
async def cancel_payment(
    request: Request[Any, Any, Any], gateway: NamedDependency[SandboxGateway], payment_key: FromPath[str]
) -> Response[Any]:
    return await _answer(
        request, gateway, partial(_cancel, payment_key), idempotent=True, delay_done=gateway.cancel_delay_seconds
    )


async def _cancel(payment_key: str, tx: SandboxTx, body: dict[str, Any] | None) -> payments.Reply:
    return await payments.cancel(tx, payment_key, body or {})


async def _answer(
    request: Request[Any, Any, Any], gateway: SandboxGateway, work: Work, *, idempotent: bool, delay_done: float = 0.0
) -> Response[Any]:
    """Authenticate, read the JSON body, run ``work(tx, body)`` in one transaction (behind the
    Idempotency-Key for POSTs) and answer, after the card's hang where it has one."""
    if not gateway.authorised(request.headers.get("authorization")):
        return _json(payments.error(401, "UNAUTHORIZED_KEY", "The secret key is not valid."))
    body: dict[str, Any] | None = None
    if request.method == "POST":
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _json(payments.error(400, "INVALID_REQUEST", "The request body must be a JSON object."))
    key = request.headers.get("idempotency-key") if idempotent else None
    if key is not None and not 0 < len(key) <= payments.MAX_IDEMPOTENCY_KEY:
        return _json(payments.error(400, "INVALID_IDEMPOTENCY_KEY", "The Idempotency-Key must be 1 to 300 characters."))
    scope = f"{key}|{request.method}|{request.url.path}" if key else None
    digest = payments.request_hash(body)
    try:
        reply = await gateway.store.transaction(
            lambda tx: payments.idempotent(tx, scope, digest, lambda t: work(t, body))
        )
    except Exception as exc:
        if not (connection_shortage(exc) or write_contention(exc)):
            raise
        # The transaction never began or rolled back (or, its connection lost at the commit, it kept
        # the reply under the Idempotency-Key): the call can be repeated.
        log.warning("the sandbox gateway's store is busy (%s)", type(exc).__name__)
        return _json(payments.error(503, "FAILED_INTERNAL_SYSTEM_PROCESSING", "The gateway is busy; try again."))
    if reply.changed is not None and gateway.webhooks is not None:
        gateway.webhooks.send(request.app, reply.changed)
    if reply.hang_before or reply.hang_after:
        await asyncio.sleep(gateway.hang_seconds)
    elif delay_done and reply.status == 200:
        await asyncio.sleep(delay_done)
    return _json(reply)


def _json(reply: payments.Reply) -> Response[Any]:
    return Response(content=reply.body, status_code=reply.status, media_type="application/json")
