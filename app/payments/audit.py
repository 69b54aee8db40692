"""The payment audit trail: every gateway exchange (secrets already redacted by the client) and
every payment step."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.payments import PaymentAudit


def audit(
    db: AsyncSession,
    kind: str,
    summary: str,
    *,
    payment_id: int | None = None,
    order_id: int | None = None,
    exchange: Any = None,
    detail: str | None = None,
) -> PaymentAudit:
    row = PaymentAudit(payment_id=payment_id, order_id=order_id, kind=kind, summary=summary[:300], detail=detail)
    if exchange is not None:
        row.kind = f"gateway.{exchange.operation}"
        row.request = {
            "method": exchange.method,
            "path": exchange.path,
            "headers": dict(exchange.request_headers),
            "body": exchange.request_body,
            "idempotency_key": exchange.idempotency_key,
        }
        row.response = exchange.response_body
        row.http_status = exchange.http_status
        row.duration_ms = exchange.duration_ms
        row.detail = exchange.error
    db.add(row)
    return row


class ExchangeLog:
    """Collects the client's exchanges during a call, to be written with the outcome."""

    def __init__(self) -> None:
        self.exchanges: list[Any] = []

    def __call__(self, exchange: Any) -> None:
        self.exchanges.append(exchange)

    def write(self, db: AsyncSession, *, payment_id: int | None, order_id: int | None) -> None:
        for exchange in self.exchanges:
            summary = f"{exchange.method} {exchange.path} → {exchange.http_status or exchange.error or 'no answer'}"
            audit(db, "gateway", summary, payment_id=payment_id, order_id=order_id, exchange=exchange)
        self.exchanges.clear()
