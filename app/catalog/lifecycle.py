"""The product lifecycle as one transition table. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from app.core.labels import labels_of
from app.core.states import IllegalTransition, StateMachine
from app.models.catalog import ProductStatus as S

PRODUCT_STATUS = StateMachine[S](
    "product status",
    {
        S.DRAFT: {S.SCHEDULED, S.CANCELLED, S.HIDDEN},
        # an auction-only listing (no fixed-price units) opens straight into its auction
        S.SCHEDULED: {S.ON_SALE, S.AUCTION_LIVE, S.CANCELLED, S.HIDDEN},
        S.ON_SALE: {S.CONVERSION_PENDING, S.HIDDEN},
        # every fixed-price unit is taken: paid → auction (or ended when nothing is left to
        # auction); a returned unit → back on sale
        S.CONVERSION_PENDING: {S.AUCTION_LIVE, S.ENDED, S.ON_SALE, S.HIDDEN},
        S.AUCTION_LIVE: {S.ENDED, S.HIDDEN},
        S.ENDED: {S.HIDDEN},
        S.CANCELLED: set(),
        # unhiding returns to the state the product was hidden from (checked by ``check_move``)
        S.HIDDEN: {S.DRAFT, S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED},
    },
)

# Shown in public lists and search. Drafts, cancelled and hidden products never are.
PUBLIC_STATUSES = frozenset({S.SCHEDULED, S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED})
# The seller may still edit everything.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.SCHEDULED})

LABELS = labels_of("product", S)


def check_move(current: S, target: S, hidden_from: S | None = None) -> None:
    """Refuse a move the table does not allow; unhiding must return to ``hidden_from``."""
    PRODUCT_STATUS.check(current, target)
    if current is S.HIDDEN and target is not hidden_from:
        raise IllegalTransition(PRODUCT_STATUS.name, current, target)


def is_public(status: S) -> bool:
    return status in PUBLIC_STATUSES


def is_editable(status: S) -> bool:
    return status in EDITABLE_STATUSES


def should_open(status: S, sale_starts_at: datetime, now: datetime) -> bool:
    return status is S.SCHEDULED and sale_starts_at <= now


def opening_status(fixed_quantity: int) -> S:
    """Where a scheduled listing goes at its start time."""
    return S.ON_SALE if fixed_quantity > 0 else S.AUCTION_LIVE


def after_fixed_units_paid(total_quantity: int, fixed_quantity: int) -> S:
    """Where a sold-out fixed-price sale goes once every taken unit is paid."""
    return S.ENDED if fixed_quantity >= total_quantity else S.AUCTION_LIVE
