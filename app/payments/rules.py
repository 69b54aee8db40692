"""Pure payment rules: the payment state table, fees, and what the refund policy allows. No I/O.
Money is whole won (KRW has no minor unit); every division rounds down, in the shop's favour
only where the policy says a share is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import NamedTuple

from app.core.i18n import _
from app.core.labels import labels_of
from app.core.numbers import parse_whole
from app.core.states import StateMachine
from app.models.payments import PaymentStatus, RefundStatus

P = PaymentStatus
PAYMENT_STATUS = StateMachine[PaymentStatus](
    "payment",
    {
        P.READY: {P.IN_PROGRESS, P.FAILED, P.CANCELLED},
        P.IN_PROGRESS: {P.DONE, P.FAILED},
        P.DONE: {P.PARTIALLY_CANCELLED, P.CANCELLED},
        P.PARTIALLY_CANCELLED: {P.CANCELLED},
        P.FAILED: set(),
        P.CANCELLED: set(),
    },
)
REFUNDABLE = (P.DONE, P.PARTIALLY_CANCELLED)

# Failures after which paying again cannot help: the gateway already holds this order's payment,
# or refuses the shop itself. Any other failure (a declined card, no funds, a cancelled or timed-out
# checkout, an unknown code) leaves a drop order waiting for payment and its purchase right held
# until the deadline, so the shopper can try another card.
FINAL_FAILURES = frozenset(
    {
        "ALREADY_PROCESSED_PAYMENT",
        "DUPLICATED_ORDER_ID",
        "NOT_FOUND_PAYMENT",
        "UNAUTHORIZED_KEY",
        "INVALID_API_KEY",
        "FORBIDDEN_REQUEST",
        "INVALID_IDEMPOTENCY_KEY",
    }
)


def may_pay_again(code: str, *, pay_by: datetime, now: datetime) -> bool:
    """After a failed attempt with ``code``: may the order still be paid (another card, another try)?"""
    return code not in FINAL_FAILURES and now < pay_by


# A return of units is reserved when asked for (its amount follows the policy), then settled once
# by the gateway's answer. A request for money only (the units stay with the shopper) waits for
# the seller's or an admin's decision: approved, it is reserved like any other; or rejected.
R = RefundStatus
REFUND_STATUS = StateMachine[RefundStatus](
    "refund",
    {
        R.REQUESTED: {R.RESERVED, R.REJECTED},
        R.RESERVED: {R.DONE, R.FAILED},
        R.REJECTED: set(),
        R.DONE: set(),
        R.FAILED: set(),
    },
)
REFUND_FINAL = frozenset({R.REJECTED, R.DONE, R.FAILED})
# What the shopper, the seller and the admin read of a refund's state.
REFUND_LABELS = labels_of("refund", R)

# The shop's policy until an admin sets one: 10 % fee, full refund within 24 h, half within 72 h.
DEFAULT_FEE_BASIS_POINTS = 1000
DEFAULT_REFUND_TIERS: list[list[int]] = [[24, 100], [72, 50]]
MAX_TIERS = 6


def fee_for(amount: int, basis_points: int) -> int:
    """The shop's commission on ``amount`` (negative amounts give the fee back)."""
    fee = abs(amount) * basis_points // 10_000
    return fee if amount >= 0 else -fee


def refund_rate(tiers: list[list[int]], paid_at: datetime, now: datetime) -> int:
    """Percent of the paid price refundable ``now``: the first tier whose hours have not passed."""
    hours = (now - paid_at).total_seconds() / 3600
    for limit, percent in sorted(tiers):
        if hours <= limit:
            return percent
    return 0


class RefundRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RefundQuote:
    quantity: int
    amount: int
    rate: int


def quote_units(*, unit_price: int, units_left: int, money_left: int, rate: int, quantity: int) -> RefundQuote:
    """What returning ``quantity`` units refunds: their price at the policy's rate, never more than
    is left (``units_left``: units not refunded yet; ``money_left``: paid minus refunded and
    reserved). The shopper chooses units, never an amount."""
    if rate <= 0:
        raise RefundRefused("quantity", _("The refund period for this order has ended."))
    if units_left <= 0:
        raise RefundRefused("quantity", _("Every unit of this order has been returned already."))
    if quantity < 1 or quantity > units_left:
        raise RefundRefused("quantity", _("Choose between 1 and %(units)s units.", units=units_left))
    if money_left <= 0:
        raise RefundRefused("quantity", _("Everything paid for this order has been refunded already."))
    amount = min(money_left, unit_price * quantity * rate // 100)
    if amount <= 0:
        raise RefundRefused("quantity", _("Nothing is refundable for these units under the refund policy."))
    return RefundQuote(quantity=quantity, amount=amount, rate=rate)


def check_money_request(*, money_left: int, rate: int, amount: int, waiting: bool) -> None:
    """A request for money only (the units stay with the shopper) is for the seller to decide: it
    may be asked for while the policy refunds anything, one at a time, for at most what is left."""
    if rate <= 0:
        raise RefundRefused("amount", _("The refund period for this order has ended."))
    if waiting:
        raise RefundRefused("amount", _("Your earlier request is still waiting for the seller's decision."))
    if money_left <= 0:
        raise RefundRefused("amount", _("Everything paid for this order has been refunded already."))
    if amount <= 0:
        raise RefundRefused("amount", _("Enter an amount of at least ₩1."))
    if amount > money_left:
        raise RefundRefused(
            "amount", _("At most %(amount)s is left to refund on this order.", amount=f"₩{money_left:,}")
        )


def validate_tiers(raw: list[tuple[str, str]]) -> tuple[list[list[int]], dict[str, str]]:
    """Parse refund tiers from form rows ``(hours, percent)``; blank rows are skipped."""
    errors: dict[str, str] = {}
    tiers: list[list[int]] = []
    for index, (hours, percent) in enumerate(raw):
        if not hours.strip() and not percent.strip():
            continue
        h, p = parse_whole(hours), parse_whole(percent)
        if h is None or p is None:
            errors[f"tier_{index}"] = _("Hours and percent must be whole numbers.")
            continue
        if h <= 0 or h > 24 * 365:
            errors[f"tier_{index}"] = _("Hours must be between 1 and 8,760.")
        elif p < 0 or p > 100:
            errors[f"tier_{index}"] = _("Percent must be between 0 and 100.")
        else:
            tiers.append([h, p])
    tiers.sort()
    if len({h for h, _share in tiers}) != len(tiers):
        errors["tiers"] = _("Each tier needs different hours.")
    if any(later[1] > earlier[1] for earlier, later in pairwise(tiers)):
        errors["tiers"] = _("A later tier cannot refund more than an earlier one.")
    if len(tiers) > MAX_TIERS:
        errors["tiers"] = _("At most %(count)s tiers.", count=MAX_TIERS)
    return tiers, errors


class GatewayCancelSeen(NamedTuple):
    """One cancellation on the gateway's copy of a payment."""

    transaction_key: str
    amount: int
    reason: str


@dataclass(frozen=True)
class OutsideCancel:
    """A cancellation made at the gateway that the shop records as a refund, with the units it
    gives back: all those left when it cancels the rest of the payment, else none."""

    seen: GatewayCancelSeen
    quantity: int


@dataclass(frozen=True)
class ShopRefunds:
    """What the shop has recorded of a payment (read with the payment locked)."""

    paid: int
    refunded: int
    reserved: int
    units_left: int
    known_keys: frozenset[str]
    keyless_amounts: tuple[int, ...]  # done refunds from before their gateway key was kept


def outside_cancels(cancels: list[GatewayCancelSeen], shop: ShopRefunds) -> list[OutsideCancel]:
    """The gateway's cancellations the shop has not recorded, oldest first, to record once each.

    A cancellation is the shop's own when its key is a refund's; a done refund without a key
    accounts for one cancellation of its amount. While a refund of the shop's is reserved its
    cancellation may already be at the gateway under a key not yet known: nothing is decided
    then (the refund settles within moments; the next look finds the rest). Never more than was
    paid less what is refunded is recorded, so a cancellation is never counted twice."""
    if shop.reserved:
        return []
    keyless = list(shop.keyless_amounts)
    room = shop.paid - shop.refunded
    found: list[OutsideCancel] = []
    for cancel in cancels:
        if cancel.transaction_key in shop.known_keys or cancel.amount <= 0:
            continue
        if cancel.amount in keyless:
            keyless.remove(cancel.amount)
            continue
        if cancel.amount > room:
            break
        room -= cancel.amount
        quantity = shop.units_left if room == 0 else 0
        found.append(OutsideCancel(cancel, quantity))
    return found
