"""The words people read for the shop's states and reasons: never the raw value (``held``,
``partially_cancelled``, ``payment_failed``). Templates write ``state|label("order")``; an unknown
value shows as itself, so a new state is visible (and the translation test asks for its label)."""

from __future__ import annotations

from typing import Any

from app.core.i18n import Msg

LABELS: dict[str, dict[str, Msg]] = {
    "product": {
        "draft": Msg("Draft"),
        "scheduled": Msg("Starting soon"),
        "on_sale": Msg("On sale"),
        "conversion_pending": Msg("Sold out — some may come back"),
        "auction_live": Msg("Live auction"),
        "ended": Msg("Ended"),
        "cancelled": Msg("Cancelled"),
        "hidden": Msg("Hidden"),
    },
    "right": {
        "held": Msg("Waiting for payment"),
        "paid": Msg("Paid"),
        "expired": Msg("Expired"),
        "cancelled": Msg("Cancelled"),
    },
    "stock_reason": {
        "listing": Msg("Put on sale"),
        "purchase": Msg("Purchase"),
        "expiry": Msg("Payment deadline passed"),
        "payment_failed": Msg("Payment failed"),
        "cancel": Msg("Cancelled"),
        "refund": Msg("Refund"),
        "conversion": Msg("Conversion to auction"),
        "admin_adjust": Msg("Adjusted by an admin"),
    },
    "order": {
        "created": Msg("Created"),
        "awaiting_payment": Msg("Awaiting payment"),
        "paid": Msg("Paid"),
        "completed": Msg("Completed"),
        "cancelled": Msg("Cancelled"),
        "failed": Msg("Payment failed"),
        "partially_refunded": Msg("Partially refunded"),
        "refunded": Msg("Refunded"),
    },
    "order_source": {"drop": Msg("Limited sale"), "auction": Msg("Live auction")},
    "sale_mode": {
        "first_come": Msg("First come, first served"),
        "waiting_room": Msg("Waiting room"),
        "draw": Msg("Draw"),
    },
    "payment": {
        "ready": Msg("Before payment"),
        "in_progress": Msg("Payment in progress"),
        "done": Msg("Payment completed"),
        "failed": Msg("Payment failed"),
        "cancelled": Msg("Cancelled"),
        "partially_cancelled": Msg("Partially cancelled"),
    },
    "refund": {
        "requested": Msg("waiting for the seller's decision"),
        "rejected": Msg("declined"),
        "reserved": Msg("in progress"),
        "done": Msg("refunded"),
        "failed": Msg("refused by the gateway"),
    },
    "auction": {
        "scheduled": Msg("Starting soon"),
        "live": Msg("Live"),
        "closed": Msg("Closed"),
        "settled": Msg("Settled"),
    },
    "result": {
        "offered": Msg("Offered — waiting for payment"),
        "paid": Msg("Paid"),
        "given_up": Msg("Given up"),
        "passed_over": Msg("Passed over (not paid)"),
        "unsold": Msg("Unsold"),
    },
    "bid_kind": {"manual": Msg("Bid"), "proxy": Msg("Automatic bid")},
    "notification": {
        "outbid": Msg("Outbid"),
        "won": Msg("Won"),
        "offered": Msg("Offered to you"),
        "deadline": Msg("Payment deadline near"),
        "draw_won": Msg("Won the draw"),
        "draw_offered": Msg("Offered to you from the draw"),
        "not_drawn": Msg("Not drawn"),
    },
    "role": {"shopper": Msg("Shopper"), "seller": Msg("Seller"), "admin": Msg("Admin")},
    "member": {"active": Msg("Active"), "suspended": Msg("Suspended"), "withdrawn": Msg("Withdrawn")},
    "application": {"pending": Msg("Waiting for review"), "approved": Msg("Approved"), "rejected": Msg("Rejected")},
    "audit": {
        "member.suspend": Msg("Suspended"),
        "member.unsuspend": Msg("Suspension lifted"),
        "member.withdraw": Msg("Withdrew"),
        "member.password_reset": Msg("Password reset"),
        "product.hide": Msg("Hidden"),
        "product.unhide": Msg("Unhidden"),
        "seller_application.approve": Msg("Approved"),
        "seller_application.reject": Msg("Rejected"),
        "category.create": Msg("Created"),
        "category.rename": Msg("Renamed"),
        "category.move": Msg("Moved"),
        "category.delete": Msg("Deleted"),
    },
    "outcome": {
        "granted": Msg("Purchase right granted"),
        "sold_out": Msg("Sold out"),
        "limit": Msg("Per-member limit reached"),
        "not_on_sale": Msg("Not on sale"),
        "ended": Msg("Ended"),
        "signed_out": Msg("Signed out"),
        "own_product": Msg("Own product"),
    },
}


def labels_of(kind: str, enum: Any) -> dict[Any, Msg]:
    """``{member: words}`` of an enum, for code that looks a state's words up by the enum member."""
    return {member: LABELS[kind][member.value] for member in enum if member.value in LABELS[kind]}


def label(value: Any, kind: str) -> str:
    """The words for ``value`` (an enum or its value) of ``kind``, in the current language."""
    if value is None:
        return ""
    raw = getattr(value, "value", value)
    found = LABELS.get(kind, {}).get(str(raw))
    return str(found) if found is not None else str(raw)
