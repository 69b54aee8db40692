"""Every topic an outbox event may carry, in one place: publishers and subscribers name a member of
``Topic``, never a string. A status move publishes ``status_topic(prefix, status)``, which refuses a
status that has no topic here, so a new status cannot publish an event nobody has named."""

from __future__ import annotations

from enum import Enum, StrEnum


class Topic(StrEnum):
    # catalog
    PRODUCT_STATUS_CHANGED = "product.status_changed"  # payload: from_status, to_status
    PRODUCT_CHANGED = "product.changed"  # details changed (search, live pages)
    # drops: a right granted by a press, then one move out of held
    RIGHT_GRANTED = "drop.right_granted"
    RIGHT_PAID = "drop.right_paid"
    RIGHT_EXPIRED = "drop.right_expired"
    RIGHT_CANCELLED = "drop.right_cancelled"
    # draw entries: one event per move out of entered (the draw) and out of not drawn (the cascade)
    ENTRY_WON = "draw_entry.won"
    ENTRY_NOT_DRAWN = "draw_entry.not_drawn"
    ENTRY_OFFERED = "draw_entry.offered"
    # orders: created, then one event per status it moves to
    ORDER_CREATED = "order.created"
    ORDER_AWAITING_PAYMENT = "order.awaiting_payment"
    ORDER_PAID = "order.paid"
    ORDER_COMPLETED = "order.completed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_FAILED = "order.failed"
    ORDER_PARTIALLY_REFUNDED = "order.partially_refunded"
    ORDER_REFUNDED = "order.refunded"
    # auctions
    AUCTION_OPENED = "auction.opened"
    AUCTION_LIVE = "auction.live"
    AUCTION_CLOSED = "auction.closed"
    AUCTION_SETTLED = "auction.settled"
    BIDS_PLACED = "auction.bids_placed"  # one per batch of bids that changed an auction
    # auction results: one event per move out of offered
    RESULT_PAID = "auction_result.paid"
    RESULT_GIVEN_UP = "auction_result.given_up"
    RESULT_PASSED_OVER = "auction_result.passed_over"
    # payments: one event per status a payment moves to
    PAYMENT_IN_PROGRESS = "payment.in_progress"
    PAYMENT_DONE = "payment.done"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CANCELLED = "payment.cancelled"
    PAYMENT_PARTIALLY_CANCELLED = "payment.partially_cancelled"
    # refunds: reserved when asked for (or when a request for money only is approved, else
    # rejected), then one move when the gateway answers
    REFUND_RESERVED = "refund.reserved"
    REFUND_REJECTED = "refund.rejected"
    REFUND_DONE = "refund.done"
    REFUND_FAILED = "refund.failed"
    # seller applications and members: one event per move
    APPLICATION_APPROVED = "seller_application.approved"
    APPLICATION_REJECTED = "seller_application.rejected"
    MEMBER_ACTIVE = "member.active"
    MEMBER_SUSPENDED = "member.suspended"
    MEMBER_WITHDRAWN = "member.withdrawn"


def status_topic(prefix: str, status: Enum) -> Topic:
    """The topic a move to ``status`` publishes, e.g. ``order.paid``; ValueError if none is named."""
    return Topic(f"{prefix}.{status.value}")


_PUBLISHED: set[Topic] = set()


def publishes(*topics: Topic) -> None:
    """Declare, beside the code that writes them, the topics a module publishes (a status move's
    topics are declared when its aggregate is registered with the status core)."""
    _PUBLISHED.update(topics)


def published() -> frozenset[Topic]:
    return frozenset(_PUBLISHED)
