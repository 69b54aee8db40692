"""The gateway's webhook, as TossPayments sends it: a POST of ``{"eventType":
"PAYMENT_STATUS_CHANGED", "createdAt": …, "data": <the Payment object>}`` on every status change
of a payment, signed with the webhook secret.

The signature is TossPayments' scheme: ``TossPayments-Webhook-Signature: v1:<base64 HMAC-SHA256
of "<body>:<transmission time>">`` (several comma-separated ``v1:`` values while a secret is being
rotated), the time in ``TossPayments-Webhook-Transmission-Time``. A message older than
``TOLERANCE_SECONDS`` is refused, so a captured one cannot be replayed later. Both sides of the
protocol use this module: the shop checks, the sandbox gateway signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SIGNATURE_HEADER = "tosspayments-webhook-signature"
TIME_HEADER = "tosspayments-webhook-transmission-time"
STATUS_CHANGED = "PAYMENT_STATUS_CHANGED"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
# Where the shop listens (the URL registered with the gateway is the shop's site plus this path).
WEBHOOK_PATH = "/payments/webhook"


class BadWebhook(ValueError):
    """The message is not signed with our secret, too old, or not a webhook we can read."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class WebhookEvent:
    event_type: str
    payment_key: str | None
    status: str | None


def signature(secret: str, body: bytes, transmission_time: str) -> str:
    digest = hmac.new(secret.encode(), body + b":" + transmission_time.encode(), hashlib.sha256).digest()
    return "v1:" + base64.b64encode(digest).decode()


def signed_headers(secret: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    """The headers the gateway sends with ``body``."""
    sent = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {"content-type": "application/json", TIME_HEADER: sent, SIGNATURE_HEADER: signature(secret, body, sent)}


def verified_event(secret: str, body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> WebhookEvent:
    """The event in ``body`` if its signature is ours and recent; else ``BadWebhook``."""
    sent = headers.get(TIME_HEADER, "")
    given = [part.strip() for part in headers.get(SIGNATURE_HEADER, "").split(",") if part.strip()]
    expected = signature(secret, body, sent).encode()
    if not sent or not any(hmac.compare_digest(part.encode(), expected) for part in given):
        raise BadWebhook(401, "INVALID_SIGNATURE", "The webhook signature is missing or not valid.")
    try:
        at = datetime.fromisoformat(sent)
    except ValueError as exc:
        raise BadWebhook(401, "INVALID_SIGNATURE", "The transmission time is not a time.") from exc
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if abs(((now or datetime.now(UTC)) - at).total_seconds()) > TOLERANCE_SECONDS:
        raise BadWebhook(401, "EXPIRED_SIGNATURE", "The webhook was sent too long ago.")
    return _parse(body)


def _parse(body: bytes) -> WebhookEvent:
    try:
        message: Any = json.loads(body)
    except ValueError as exc:
        raise BadWebhook(400, "INVALID_REQUEST", "The body is not JSON.") from exc
    if not isinstance(message, dict) or not isinstance(message.get("eventType"), str):
        raise BadWebhook(400, "INVALID_REQUEST", "The body is not a webhook event.")
    data = message.get("data")
    data = data if isinstance(data, dict) else {}
    key, status = data.get("paymentKey"), data.get("status")
    return WebhookEvent(
        event_type=message["eventType"][:60],
        payment_key=key if isinstance(key, str) and 0 < len(key) <= 200 else None,
        status=status if isinstance(status, str) else None,
    )


def status_changed(payment: Mapping[str, Any], now: datetime | None = None) -> bytes:
    """The body of a PAYMENT_STATUS_CHANGED event for ``payment`` (a Payment object)."""
    sent = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return json.dumps({"eventType": STATUS_CHANGED, "createdAt": sent, "data": dict(payment)}).encode()
