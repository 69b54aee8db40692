"""HTTP client for the payment gateway (TossPayments v1 payments API: confirm, lookups, cancel).

Every call is bounded by ``asyncio.timeout`` (httpx's own timeouts do not apply to every transport)
and reported to ``on_exchange`` as an ``Exchange`` with the secret key redacted. A confirm whose
answer never arrives is settled by looking the payment up before anything is decided.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from app.gateway.errors import GatewayError, GatewayTimeout, GatewayUnavailable
from app.observability.tracing import traced_transport

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger(__name__)

REDACTED = "REDACTED"


@dataclass(frozen=True)
class GatewayCancel:
    amount: int
    reason: str
    canceled_at: datetime | None
    transaction_key: str


@dataclass(frozen=True)
class GatewayPayment:
    payment_key: str
    order_id: str
    status: str  # READY, IN_PROGRESS, DONE, CANCELED, PARTIAL_CANCELED, ABORTED, EXPIRED
    total_amount: int
    balance_amount: int
    method: str | None
    approved_at: datetime | None
    cancels: list[GatewayCancel]
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GatewayPayment:
        cancels = [
            GatewayCancel(
                amount=int(c["cancelAmount"]),
                reason=str(c.get("cancelReason") or ""),
                canceled_at=parse_time(c.get("canceledAt")),
                transaction_key=str(c.get("transactionKey") or ""),
            )
            for c in data.get("cancels") or []
        ]
        return cls(
            payment_key=str(data["paymentKey"]),
            order_id=str(data["orderId"]),
            status=str(data["status"]),
            total_amount=int(data["totalAmount"]),
            balance_amount=int(data["balanceAmount"]),
            method=data.get("method"),
            approved_at=parse_time(data.get("approvedAt")),
            cancels=cancels,
            raw=data,
        )


@dataclass
class Exchange:
    """One HTTP call to the gateway, as the audit trail keeps it (never with the secret key)."""

    operation: str  # confirm, lookup, lookup_by_order, cancel
    method: str
    path: str
    request_headers: dict[str, str]
    request_body: dict[str, Any] | None
    http_status: int | None
    response_body: dict[str, Any] | None
    duration_ms: int
    error: str | None
    idempotency_key: str | None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from the gateway (``+09:00`` offsets) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        secret_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_exchange: Callable[[Exchange], Awaitable[None] | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.on_exchange = on_exchange
        token = base64.b64encode(f"{secret_key}:".encode()).decode()
        self._auth = f"Basic {token}"
        self._http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout))

    async def confirm(self, payment_key: str, order_id: str, amount: int, *, idempotency_key: str) -> GatewayPayment:
        """Approve the payment. An answer that never came (timeout, dropped connection, 5xx) is
        settled by a lookup: an approval found for this order and amount is returned, a refusal is
        raised with its code, otherwise ``GatewayTimeout`` (nothing charged as far as the gateway
        says; ``GatewayUnavailable`` after a 5xx). A failed lookup raises ``GatewayUnavailable``."""
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        try:
            return await self._call("confirm", "POST", "/v1/payments/confirm", body, idempotency_key)
        except GatewayTimeout as exc:
            lost: GatewayError = exc
        except _ConnectionLost as exc:
            lost = GatewayTimeout(exc.message)
        except GatewayUnavailable as exc:
            if exc.http_status is None:
                raise  # never reached the gateway: nothing can have been approved
            lost = exc  # a 5xx or an unreadable answer: the approval may still have happened
        try:
            found = await self.lookup(payment_key)
        except GatewayError as exc:
            if exc.code != "NOT_FOUND_PAYMENT":
                raise GatewayUnavailable(f"confirm unanswered and lookup failed: {exc.message}") from exc
            raise lost from exc
        if found.status == "DONE" and found.order_id == order_id and found.total_amount == amount:
            return found
        refusal = found.raw.get("failure")
        if found.status == "ABORTED" and isinstance(refusal, dict) and refusal.get("code"):
            raise GatewayError(str(refusal["code"]), str(refusal.get("message") or ""), lost.http_status) from lost
        raise lost

    async def lookup(self, payment_key: str) -> GatewayPayment:
        return await self._call("lookup", "GET", f"/v1/payments/{quote(payment_key, safe='')}", None, None)

    async def lookup_by_order(self, order_id: str) -> GatewayPayment:
        path = f"/v1/payments/orders/{quote(order_id, safe='')}"
        return await self._call("lookup_by_order", "GET", path, None, None)

    async def cancel(
        self, payment_key: str, reason: str, *, amount: int | None, idempotency_key: str
    ) -> GatewayPayment:
        """Cancel ``amount`` won of the payment, or its whole balance when ``amount`` is None."""
        body: dict[str, Any] = {"cancelReason": reason}
        if amount is not None:
            body["cancelAmount"] = amount
        path = f"/v1/payments/{quote(payment_key, safe='')}/cancel"
        return await self._call("cancel", "POST", path, body, idempotency_key)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, operation: str, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str | None
    ) -> GatewayPayment:
        headers = {"Authorization": self._auth, "Accept": "application/json", "Accept-Language": "en-US"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        status: int | None = None
        answer: dict[str, Any] | None = None
        failure: GatewayError | None = None
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(method, self.base_url + path, headers=headers, json=body)
            status = response.status_code
            answer = _json_object(response)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            failure = GatewayUnavailable(f"could not connect: {type(exc).__name__}: {exc}")
        except TimeoutError:
            failure = GatewayTimeout(f"no answer within {self.timeout:g} s")
        except httpx.TimeoutException as exc:
            failure = GatewayTimeout(f"no answer in time ({type(exc).__name__})")
        except httpx.TransportError as exc:
            failure = _ConnectionLost(f"connection lost: {type(exc).__name__}: {exc}")
        if failure is None:
            failure = _failure_of(status, answer)
        payment: GatewayPayment | None = None
        if failure is None and answer is not None:
            try:
                payment = GatewayPayment.from_json(answer)
            except (KeyError, TypeError, ValueError) as exc:
                failure = GatewayUnavailable(f"unreadable payment in the answer: {exc!r}", status, "INVALID_RESPONSE")
        await self._report(
            Exchange(
                operation=operation,
                method=method,
                path=path,
                request_headers={**headers, "Authorization": REDACTED},
                request_body=body,
                http_status=status,
                response_body=answer,
                duration_ms=round((time.monotonic() - started) * 1000),
                error=None if failure is None else f"{type(failure).__name__}: {failure}",
                idempotency_key=idempotency_key,
            )
        )
        if failure is not None:
            raise failure
        assert payment is not None
        return payment

    async def _report(self, exchange: Exchange) -> None:
        """Hand the exchange to the audit callback; its failure never hides the gateway's answer."""
        if self.on_exchange is None:
            return
        try:
            result = self.on_exchange(exchange)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("recording a gateway exchange failed (%s %s)", exchange.method, exchange.path)


class _ConnectionLost(GatewayUnavailable):
    """The request may have reached the gateway but the answer did not come back."""


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _failure_of(status: int | None, answer: dict[str, Any] | None) -> GatewayError | None:
    if status is None or 200 <= status < 300:
        return None if answer is not None else GatewayUnavailable("empty answer", status, "INVALID_RESPONSE")
    code = str(answer.get("code")) if answer and answer.get("code") else None
    message = str(answer.get("message") or "") if answer else ""
    if status == 504:
        return GatewayTimeout(message or "the gateway timed out", status)
    if status >= 500:
        return GatewayUnavailable(message or f"HTTP {status}", status, code)
    return GatewayError(code or f"HTTP_{status}", message or f"HTTP {status}", status)


def make_gateway_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    on_exchange: Callable[[Exchange], Awaitable[None] | None] | None = None,
) -> GatewayClient:
    """A client for the configured gateway (the built-in sandbox unless ``PAYMENT_GATEWAY_URL``)."""
    return GatewayClient(
        settings.gateway_base_url,
        settings.payment_secret_key,
        timeout=settings.gateway_timeout_seconds,
        transport=traced_transport(transport, settings),  # a span per call, carrying the trace on
        on_exchange=on_exchange,
    )
