"""Bid amounts as a form gives them and as people read them, and the refusal that names what is
wrong with one. Pure: no I/O."""

from __future__ import annotations

from app.core.i18n import Msg
from app.core.numbers import looks_whole, parse_whole

# The largest bid the shop accepts (KRW, whole won): far above any real price, far below overflow.
MAX_BID = 10_000_000_000


def won(amount: int) -> str:
    """Whole won as both languages write it: ₩12,000."""
    return f"₩{amount:,}"


class BidRefused(ValueError):
    """A bid refused, with the sentence that says why (translated where it is shown)."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.message)
        self.message = message


def parse_amount(raw: str) -> int:
    """Whole won from a form: digits, optional thousands separators and a leading ₩."""
    text = raw.strip().removeprefix("₩").replace(",", "").strip()
    if not looks_whole(text):
        raise BidRefused(Msg("Enter the bid in whole won, e.g. 15000."))
    value = parse_whole(text, high=MAX_BID)
    if value is None:
        raise BidRefused(Msg("Bids above %(most)s are not accepted.", most=won(MAX_BID)))
    return value
