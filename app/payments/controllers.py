"""The payment gateway's webhook: ``POST /payments/webhook``, signed by the gateway (no session,
no CSRF token, no member). A verified message only makes the shop look the payment up at the
gateway (``gateway_changes``); what it records comes from that answer, never from the body."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency

from app.gateway.webhook import MAX_BODY_BYTES, WEBHOOK_PATH, BadWebhook, verified_event
from app.payments.gateway_changes import on_webhook
from app.web.services import Services


@post(
    WEBHOOK_PATH,
    name="payment_webhook",
    opt={"loads_member": False, "skip_session": True, "exclude_from_csrf": True},
    request_max_body_size=MAX_BODY_BYTES,
    include_in_schema=False,
)
async def payment_webhook(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Response[Any]:
    body = await request.body()
    try:
        event = verified_event(services.settings.payment_webhook_secret or "", body, request.headers)
    except BadWebhook as bad:
        return Response({"code": bad.code, "message": bad.message}, status_code=bad.status)
    answer = await on_webhook(services, event)
    return Response(answer.body, status_code=answer.status)
