"""What the sandbox gateway does to a payment: sessions from its checkout page, confirm with each
test card's behaviour, lookups and cancels, answered as Toss-style Payment and error objects.

Each function takes an open transaction (``SandboxStore.transaction``) and returns a
``Reply``; ``idempotent`` wraps confirm and cancel so a replayed Idempotency-Key gets the first
answer back and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from app.core.i18n import Msg
from app.gateway.sandbox_store import SandboxTx, StoredPayment

KST = timezone(timedelta(hours=9))
SESSION_SECONDS = 30 * 60  # an authenticated payment must be confirmed within this time
SETTLED = frozenset({"DONE", "CANCELED", "PARTIAL_CANCELED"})
MAX_IDEMPOTENCY_KEY = 300


@dataclass(frozen=True)
class SandboxCard:
    id: str
    number: str
    name: Msg  # shown in the checkout window, in the shopper's language
    behaviour: Msg


SANDBOX_CARDS = (
    SandboxCard("approve", "4330-1200-0000-0001", Msg("Approved"), Msg("The payment is approved.")),
    SandboxCard(
        "decline",
        "4330-1200-0000-0002",
        Msg("Declined"),
        Msg("The card company declines it (%(code)s).", code="REJECT_CARD_PAYMENT"),
    ),
    SandboxCard(
        "insufficient",
        "4330-1200-0000-0003",
        Msg("Insufficient funds"),
        Msg("Refused for lack of funds (%(code)s).", code="REJECT_ACCOUNT_PAYMENT"),
    ),
    SandboxCard(
        "timeout",
        "4330-1200-0000-0004",
        Msg("Gateway timeout"),
        Msg("No answer for a long while, then 504; no charge."),
    ),
    SandboxCard(
        "lost-response",
        "4330-1200-0000-0005",
        Msg("Approved, answer lost"),
        Msg("Approved at once, but the answer comes late."),
    ),
)
CARDS_BY_ID = {card.id: card for card in SANDBOX_CARDS}
_REFUSALS = {
    "decline": ("REJECT_CARD_PAYMENT", "The card company declined the payment (limit exceeded or refused)."),
    "insufficient": ("REJECT_ACCOUNT_PAYMENT", "The payment failed because of an insufficient balance."),
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    hang_before: bool = False  # wait, then answer (nothing was done)
    hang_after: bool = False  # done and stored; only the answer is late
    remember: bool = True  # kept under the request's Idempotency-Key
    changed: dict[str, Any] | None = None  # the payment, when its status changed (a webhook is sent)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.reply = error(status, code, message)


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


def now_kst() -> str:
    return datetime.now(KST).isoformat(timespec="seconds")


def request_hash(body: dict[str, Any] | None) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def idempotent(
    tx: SandboxTx, scope: str | None, body_hash: str, work: Callable[[SandboxTx], Awaitable[Reply]]
) -> Reply:
    """The first answer given under ``scope`` (key, method, path) if there is one, else ``work``'s."""
    if scope is not None and (prior := await tx.stored_reply(scope)) is not None:
        if prior.request_hash != body_hash:
            return error(422, "INVALID_IDEMPOTENCY_KEY", "This Idempotency-Key was already used for another request.")
        return Reply(prior.status, prior.body)
    try:
        reply = await work(tx)
    except Refused as refused:
        reply = refused.reply
    if scope is not None and reply.remember:
        await tx.remember_reply(scope, body_hash, reply.status, reply.body)
    return reply


async def create_session(
    tx: SandboxTx, *, order_id: str, order_name: str, amount: int, card: str, customer_email: str | None
) -> str:
    """A payment authenticated in the checkout window, waiting for the shop's confirm."""
    payment_key = "tsbx_" + secrets.token_hex(20)
    vat = round(amount / 11)
    doc: dict[str, Any] = {
        "mId": "smore_sandbox",
        "version": "2022-11-16",
        "paymentKey": payment_key,
        "lastTransactionKey": None,
        "type": "NORMAL",
        "orderId": order_id,
        "orderName": order_name,
        "currency": "KRW",
        "country": "KR",
        "method": "카드",
        "status": "IN_PROGRESS",
        "requestedAt": now_kst(),
        "approvedAt": None,
        "totalAmount": amount,
        "balanceAmount": amount,
        "suppliedAmount": amount - vat,
        "vat": vat,
        "taxFreeAmount": 0,
        "taxExemptionAmount": 0,
        "isPartialCancelable": True,
        "useEscrow": False,
        "card": None,
        "cancels": None,
        "failure": None,
        "customerEmail": customer_email,
        "receipt": None,
    }
    await tx.insert_payment(doc, card)
    return payment_key


async def confirm(tx: SandboxTx, body: dict[str, Any]) -> Reply:
    payment_key = _text(body, "paymentKey")
    order_id = _text(body, "orderId")
    amount = _amount(body, "amount")
    stored = await _payment(tx, payment_key)
    doc = stored.doc
    expired = error(404, "NOT_FOUND_PAYMENT_SESSION", "The payment session has expired.")
    if doc["status"] == "IN_PROGRESS" and time.time() - stored.created_at > SESSION_SECONDS:
        doc["status"] = "EXPIRED"
        await tx.save_payment(doc)
        return replace(expired, changed=doc)
    if doc["status"] == "EXPIRED":
        return expired
    if doc["orderId"] != order_id:
        raise Refused(400, "INVALID_REQUEST", "orderId does not match the payment.")
    if doc["totalAmount"] != amount:
        raise Refused(400, "AMOUNT_MISMATCH", "amount does not match the amount of the payment request.")
    if doc["status"] in SETTLED:
        raise Refused(400, "ALREADY_PROCESSED_PAYMENT", "This payment has already been processed.")
    if any(p.doc["status"] in SETTLED for p in await tx.payments_for_order(order_id)):
        raise Refused(400, "DUPLICATED_ORDER_ID", "Another payment for this orderId has already been approved.")
    if refusal := _REFUSALS.get(stored.card):
        doc.update(status="ABORTED", failure={"code": refusal[0], "message": refusal[1]})
        await tx.save_payment(doc)
        return replace(error(403, *refusal), changed=doc)
    if stored.card == "timeout":
        message = "The card company did not answer in time. The payment was not approved."
        return Reply(
            504, {"code": "FAILED_CARD_COMPANY_RESPONSE", "message": message}, hang_before=True, remember=False
        )
    card = CARDS_BY_ID[stored.card]
    transaction_key = _transaction_key()
    doc.update(
        status="DONE",
        approvedAt=now_kst(),
        lastTransactionKey=transaction_key,
        card={
            "amount": amount,
            "issuerCode": "61",
            "acquirerCode": "31",
            "number": card.number[:7].replace("-", "") + "********" + card.number[-1:],
            "installmentPlanMonths": 0,
            "approveNo": f"{secrets.randbelow(10**8):08d}",
            "cardType": "신용",
            "ownerType": "개인",
            "acquireStatus": "READY",
        },
        receipt={"url": f"https://sandbox.invalid/receipts/{transaction_key}"},
    )
    await tx.save_payment(doc)
    return Reply(200, doc, hang_after=stored.card == "lost-response", changed=doc)


async def cancel(tx: SandboxTx, payment_key: str, body: dict[str, Any]) -> Reply:
    reason = _text(body, "cancelReason")
    wanted = None if body.get("cancelAmount") is None else _amount(body, "cancelAmount")
    doc = (await _payment(tx, payment_key)).doc
    if doc["status"] == "CANCELED":
        raise Refused(400, "ALREADY_CANCELED_PAYMENT", "This payment has already been cancelled.")
    if doc["status"] not in SETTLED:
        raise Refused(403, "NOT_CANCELABLE_PAYMENT", "This payment cannot be cancelled.")
    balance = doc["balanceAmount"]
    amount = balance if wanted is None else wanted
    if amount > balance:
        raise Refused(403, "NOT_CANCELABLE_AMOUNT", f"Only {balance} won of this payment can still be cancelled.")
    transaction_key = _transaction_key()
    entry = {
        "transactionKey": transaction_key,
        "cancelReason": reason,
        "cancelAmount": amount,
        "taxFreeAmount": 0,
        "taxExemptionAmount": 0,
        "refundableAmount": balance - amount,
        "easyPayDiscountAmount": 0,
        "transferDiscountAmount": 0,
        "canceledAt": now_kst(),
        "cancelStatus": "DONE",
        "cancelRequestId": None,
        "receiptKey": None,
    }
    doc.update(
        cancels=[*(doc["cancels"] or []), entry],
        balanceAmount=balance - amount,
        status="CANCELED" if amount == balance else "PARTIAL_CANCELED",
        lastTransactionKey=transaction_key,
    )
    await tx.save_payment(doc)
    return Reply(200, doc, changed=doc)


async def lookup(tx: SandboxTx, payment_key: str) -> Reply:
    try:
        return Reply(200, (await _payment(tx, payment_key)).doc)
    except Refused as refused:
        return refused.reply


async def lookup_by_order(tx: SandboxTx, order_id: str) -> Reply:
    """The order's settled payment if it has one, else its latest attempt."""
    found = await tx.payments_for_order(order_id)
    if not found:
        return error(404, "NOT_FOUND_PAYMENT", "No payment exists for this orderId.")
    settled = [p for p in found if p.doc["status"] in SETTLED]
    return Reply(200, (settled or found)[-1].doc)


async def _payment(tx: SandboxTx, payment_key: str) -> StoredPayment:
    stored = await tx.get_payment(payment_key)
    if stored is None:
        raise Refused(404, "NOT_FOUND_PAYMENT", "The payment does not exist.")
    return stored


def _transaction_key() -> str:
    return secrets.token_hex(16).upper()


def _text(body: dict[str, Any], name: str, limit: int = 200) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Refused(400, "INVALID_REQUEST", f"{name} is required (text of at most {limit} characters).")
    return value


def _amount(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Refused(400, "INVALID_REQUEST", f"{name} must be a positive whole number of won.")
    return value
