"""Whole numbers typed by people or put in URLs. Only ASCII digits count: Python's ``int()`` also
reads Arabic-Indic or full-width digits (``int("٣") == 3``) and ``str.isdigit()`` says yes to
superscripts that ``int()`` then refuses (``"²"``), so neither is asked before this has checked
the text. Every number is bounded before it reaches ``int()`` or the database."""

from __future__ import annotations

import re

# An INTEGER primary key on every backend (PostgreSQL's ``integer`` is 32-bit).
MAX_ID = 2**31 - 1
# The most any amount of money, count or quantity typed into a form can be (far above any real
# one, far below a 64-bit overflow).
MAX_WHOLE = 10**15

_ASCII_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def looks_whole(raw: str | None) -> bool:
    """Whether ``raw`` is written as a whole number in ASCII digits, however large."""
    return bool(_ASCII_DIGITS.fullmatch((raw or "").strip()))


def parse_whole(raw: str | None, *, high: int = MAX_WHOLE, grouped: bool = False) -> int | None:
    """``raw`` as a whole number in ``0..high`` (surrounding spaces ignored; ``"12,000"`` too when
    ``grouped``), or ``None`` for anything else: empty, a sign, a fraction, a non-ASCII digit, a
    number out of range."""
    text = (raw or "").strip()
    if not (_ASCII_DIGITS.fullmatch(text) or (grouped and _GROUPED.fullmatch(text))):
        return None
    digits = text.replace(",", "").lstrip("0") or "0"
    if len(digits) > len(str(high)):  # never hand int() a number of absurd length
        return None
    value = int(digits)
    return value if value <= high else None


def parse_id(raw: str | None) -> int | None:
    """A record id (``1..MAX_ID``) from a query string or a form, or ``None``."""
    value = parse_whole(raw, high=MAX_ID)
    return value if value else None


def is_id(value: object) -> bool:
    """Whether ``value`` (a parsed path parameter) can be a record's id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
