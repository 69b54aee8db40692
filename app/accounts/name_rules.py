"""Display names, pure: what is kept of a name as typed, and which names are the shop's own.

Invisible characters (bidi controls, zero-width spaces and joiners, the other Unicode format
characters, Hangul fillers) are removed before a name is checked or stored: they let a name look
like another or reorder the text around it. Names that speak for the shop ("admin", "Smore",
"관리자" and so on) are refused in any case, spacing or look-alike spelling: a name is compared by
its skeleton (NFKC, case-folded, letters that look alike mapped to one Latin letter with the
Unicode confusables table that ``confusable_homoglyphs`` ships, digits read as the letters they
stand in for, separators dropped)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

from app.core.i18n import Msg

# Characters that render as nothing but are not format characters (category Cf) in Unicode:
# combining grapheme joiner, Hangul fillers, the blank Braille pattern.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")
_SPACES = re.compile(r"\s+")

# Latin words reserved as a word of the name or at its start or end; Korean ones anywhere in it.
RESERVED_WORDS = ("admin", "administrator", "moderator", "smore")
RESERVED_KOREAN = ("운영자", "관리자", "스모어", "운영진", "운영팀", "관리팀")
RESERVED_MESSAGE = Msg("This name belongs to the shop's staff. Choose another display name.")

# Digits and signs that stand in for letters, and Latin letters that pass for one another.
_FOLD = str.maketrans(
    {"0": "o", "1": "i", "l": "i", "|": "i", "!": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s"}
)
_FOLD_PAIRS = (("rn", "m"), ("vv", "w"))


def _invisible(ch: str) -> bool:
    return ch in _INVISIBLE or unicodedata.category(ch) == "Cf"


def clean_display_name(raw: str) -> str:
    """The name as it is stored: invisible characters removed, every run of spaces (any Unicode
    space, line breaks included) one plain space, none at either end, NFC."""
    visible = "".join(ch for ch in raw if not _invisible(ch))
    return unicodedata.normalize("NFC", _SPACES.sub(" ", visible).strip())


@cache
def _latin(ch: str) -> str:
    """The ASCII letter ``ch`` passes for, or ``ch`` itself."""
    if ch.isascii():
        return ch
    found = confusables.is_confusable(ch, preferred_aliases=["latin"])
    for match in found or []:
        for glyph in match["homoglyphs"]:
            text = str(glyph["c"])
            if text.isascii() and text.isalnum():
                return text.lower()
    return ch


def skeleton(text: str) -> str:
    """What ``text`` looks like, spelt in one way: letters that look alike are the same letter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    mapped = "".join(_latin(ch) for ch in folded).translate(_FOLD)
    kept = "".join(ch for ch in mapped if ch.isalnum())
    for pair, letter in _FOLD_PAIRS:
        kept = kept.replace(pair, letter)
    return kept


_RESERVED = tuple(skeleton(word) for word in RESERVED_WORDS)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", unicodedata.normalize("NFKC", name)) if w]


def is_reserved(name: str) -> bool:
    """``name`` passes for the shop or its staff."""
    whole = skeleton(name)
    if any(word in whole for word in RESERVED_KOREAN):
        return True
    if any(whole.startswith(word) or whole.endswith(word) for word in _RESERVED):
        return True
    for word in _words(name):
        variants = {skeleton(word), skeleton("".join(ch for ch in word if not ch.isdigit()))}
        if variants & set(_RESERVED):
            return True
    return False
