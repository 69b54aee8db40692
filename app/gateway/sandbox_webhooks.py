"""The sandbox gateway's webhooks: after every status change of a payment it POSTs a signed
PAYMENT_STATUS_CHANGED event to the shop, as TossPayments does, in the background (the API call
that changed the payment is answered at once) and retried a few times when the shop does not
answer 200. The shop is the app the sandbox is mounted in, so the event is delivered to it
in-process (an ASGI call through the whole app: middleware, routing, the webhook handler)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from app.gateway.webhook import WEBHOOK_PATH, signed_headers, status_changed

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_RETRY_SECONDS = 0.5  # then doubled per attempt
CALL_SECONDS = 10.0


class SandboxWebhooks:
    def __init__(self, secret: str, *, attempts: int = ATTEMPTS, first_retry: float = FIRST_RETRY_SECONDS) -> None:
        self.secret = secret
        self.attempts = attempts
        self.first_retry = first_retry
        self._sending: set[asyncio.Task[bool]] = set()

    def send(self, app: Any, payment: dict[str, Any]) -> None:
        """Deliver the event for ``payment`` to ``app`` (the shop) in the background."""
        task = asyncio.create_task(self.deliver(app, status_changed(payment)), name="sandbox-webhook")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def deliver(self, app: Any, body: bytes) -> bool:
        """True once the shop answered 200; False when every attempt failed."""
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.internal") as http:
            for attempt in range(self.attempts):
                if attempt:
                    await asyncio.sleep(self.first_retry * 2 ** (attempt - 1))
                try:
                    async with asyncio.timeout(CALL_SECONDS):
                        answer = await http.post(WEBHOOK_PATH, content=body, headers=signed_headers(self.secret, body))
                except Exception as exc:  # the shop failed to answer, however: try again later
                    log.warning("sandbox webhook attempt %d failed: %r", attempt + 1, exc)
                    continue
                if answer.status_code == 200:
                    return True
                log.warning("sandbox webhook attempt %d answered %d", attempt + 1, answer.status_code)
        return False
