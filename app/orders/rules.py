"""Pure order rules: the one transition table. No I/O."""

from __future__ import annotations

from app.core.labels import labels_of
from app.core.states import StateMachine
from app.models.orders import OrderStatus

S = OrderStatus
ORDER_STATUS = StateMachine[OrderStatus](
    "order",
    {
        S.CREATED: {S.AWAITING_PAYMENT, S.CANCELLED, S.FAILED},
        S.AWAITING_PAYMENT: {S.PAID, S.CANCELLED, S.FAILED},
        S.PAID: {S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
        S.COMPLETED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
        S.PARTIALLY_REFUNDED: {S.REFUNDED},
        S.CANCELLED: set(),
        S.FAILED: set(),
        S.REFUNDED: set(),
    },
)

# Orders a member may still pay.
PAYABLE = (S.CREATED, S.AWAITING_PAYMENT)
# Orders with money received (refunds are possible from these).
PAID_STATES = (S.PAID, S.COMPLETED, S.PARTIALLY_REFUNDED)

LABELS = labels_of("order", S)
