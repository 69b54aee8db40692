"""From what the visitor typed to a Whoosh query, filter and sort. Pure: no I/O.

Whoosh's query-syntax parser is never used: the text is split into words (runs of CJK characters
and runs of other letters and digits), so ``name:x OR (y* AND ~z)`` is just the words ``name x OR
y AND z``. Every word must match (And); an English word matches its stem in the combined ``text``
field (name, category path, description; never the seller's name); a CJK word matches as a substring through the
``ngrams`` field (longer than the largest n-gram: all its 4-grams must match). The word still being
typed also matches as a prefix of a name word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from whoosh import query as wq
from whoosh.sorting import FieldFacet

from app.catalog.lifecycle import PUBLIC_STATUSES
from app.core.i18n import Msg, _
from app.search.schema import CJK_RUN, NGRAM_MAX, SCHEMA, WORD_RUN, normalise

MAX_CHARS = 200
MAX_WORDS = 12
MAX_PRICE = 10**12
MAX_ID = 2**31 - 1
NAME_BOOST = 2.0
PREFIX_MIN = 3  # the word being typed also matches as a name prefix from this length on

SORTS = {
    "relevance": Msg("Best match"),
    "newest": Msg("Newest"),
    "price_asc": Msg("Price: low to high"),
    "price_desc": Msg("Price: high to low"),
    "ending_soon": Msg("Ending soon"),
}
PUBLIC_STATUS_VALUES = frozenset(s.value for s in PUBLIC_STATUSES)

_SPLIT = re.compile(f"({CJK_RUN})|({WORD_RUN})")


@dataclass(frozen=True)
class Word:
    text: str  # lower-cased, normalised
    cjk: bool
    terms: tuple[str, ...] = ()  # stemmed terms (English); empty when the analyzer drops the word


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    words: tuple[Word, ...] = ()
    category_id: int | None = None
    status: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: str = "relevance"
    typing_last: bool = False  # no space after the last word: it may still be incomplete
    messages: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        return bool(self.q.strip())

    @property
    def searchable(self) -> list[Word]:
        return [w for w in self.words if w.cjk or w.terms]

    def as_query_dict(self) -> dict[str, str]:
        """The parameters as they go back into a shareable URL (blank ones are left out)."""
        return {
            "q": self.q,
            "category": str(self.category_id or ""),
            "status": self.status or "",
            "min_price": "" if self.min_price is None else str(self.min_price),
            "max_price": "" if self.max_price is None else str(self.max_price),
            "sort": "" if self.sort == "relevance" else self.sort,
        }


def clean_text(raw: str) -> str:
    """NFKC, no lone surrogates or control characters, single spaces."""
    text = normalise(raw).encode("utf-8", "ignore").decode("utf-8")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def split_words(text: str) -> list[Word]:
    """CJK runs and runs of other letters/digits, lower-cased; everything else separates words."""
    words: list[Word] = []
    for match in _SPLIT.finditer(text.lower()):
        cjk, other = match.groups()
        words.append(Word(cjk, True) if cjk else Word(other, False, _stems(other)))
    return words


def _stems(word: str) -> tuple[str, ...]:
    analyzer = SCHEMA["name"].analyzer
    return tuple(t.text for t in analyzer(word, mode="query"))


def _parse_price(raw: str | None, label: str, messages: list[str]) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    digits = re.sub(r"[\s,_₩원]", "", normalise(text))
    if digits.isascii() and digits.isdigit() and len(digits) <= 13 and int(digits) <= MAX_PRICE:
        return int(digits)
    shown = text if len(text) <= 20 else text[:20] + "…"
    if label == "minimum":
        messages.append(_("“%(shown)s” is not a price in whole won, so the minimum price was ignored.", shown=shown))
    else:
        messages.append(_("“%(shown)s” is not a price in whole won, so the maximum price was ignored.", shown=shown))
    return None


def parse_params(
    q: str | None = None,
    category: str | None = None,
    status: str | None = None,
    min_price: str | None = None,
    max_price: str | None = None,
    sort: str | None = None,
    *,
    categories: set[int] | frozenset[int] | None = None,
) -> SearchParams:
    """Read the query string leniently: odd values are dropped with a message, never an error.
    ``categories``, when given, are the ids that exist."""
    messages: list[str] = []
    raw = q or ""
    if len(raw) > MAX_CHARS:
        messages.append(_("Searches are limited to %(most)s characters; the rest was left out.", most=MAX_CHARS))
        raw = raw[:MAX_CHARS]
    text = clean_text(raw)
    words = split_words(text)
    if len(words) > MAX_WORDS:
        messages.append(_("Only the first %(most)s words are used.", most=MAX_WORDS))
        words = words[:MAX_WORDS]
    if text and not any(w.cjk or w.terms for w in words):
        messages.append(_("Type at least one word of two or more letters or digits (very common words are skipped)."))

    category_id: int | None = None
    cat = (category or "").strip()
    if cat:
        if (
            cat.isascii()
            and cat.isdigit()
            and 1 <= int(cat) <= MAX_ID
            and (categories is None or int(cat) in categories)
        ):
            category_id = int(cat)
        else:
            messages.append(_("That category does not exist; showing every category."))

    state: str | None = (status or "").strip() or None
    if state is not None and state not in PUBLIC_STATUS_VALUES:
        messages.append(_("That state cannot be searched; showing every state."))
        state = None

    low = _parse_price(min_price, "minimum", messages)
    high = _parse_price(max_price, "maximum", messages)
    if low is not None and high is not None and low > high:
        low, high = high, low
        messages.append(_("The minimum price was above the maximum; they were swapped."))

    key = (sort or "").strip()
    return SearchParams(
        q=text,
        words=tuple(words),
        category_id=category_id,
        status=state,
        min_price=low,
        max_price=high,
        sort=key if key in SORTS else "relevance",
        typing_last=bool(raw) and not raw[-1].isspace() and len(words) <= MAX_WORDS,
        messages=tuple(messages),
    )


def ngrams(word: str) -> list[str]:
    """The grams that must all be present for ``word`` to be a substring of an indexed CJK run."""
    if len(word) <= NGRAM_MAX:
        return [word]
    return list(dict.fromkeys(word[i : i + NGRAM_MAX] for i in range(len(word) - NGRAM_MAX + 1)))


def _all_of(field_name: str, grams: list[str]) -> wq.Query:
    if len(grams) == 1:
        return wq.Term(field_name, grams[0])
    return wq.And([wq.Term(field_name, g) for g in grams])


def word_query(word: Word, *, prefix: bool = False) -> wq.Query:
    """One posting list per word (the name counts three times in the combined fields, so name
    matches rank first without extra clauses to merge)."""
    if word.cjk:
        return _all_of("ngrams", ngrams(word.text))
    clauses: list[wq.Query] = [wq.Term("text", term) for term in word.terms]
    # a word found in the name itself outranks one found only in the category or description
    clauses += [wq.Term("name", term, boost=NAME_BOOST) for term in word.terms]
    if prefix and len(word.text) >= PREFIX_MIN:
        clauses.append(wq.Prefix("name", word.text))
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def filter_terms(params: SearchParams) -> list[wq.Query]:
    """Category (with its subcategories) and state: intersected with the text query."""
    terms: list[wq.Query] = []
    if params.category_id is not None:
        terms.append(wq.Term("category_ids", str(params.category_id)))
    if params.status is not None:
        terms.append(wq.Term("status", params.status))
    return terms


def build_query(params: SearchParams) -> wq.Query:
    """Text and term filters. Nothing typed: every public product (within the filters); text
    without a usable word: nothing."""
    clauses = filter_terms(params)
    if params.has_text:
        words = params.searchable
        if not words:
            return wq.NullQuery
        clauses = [word_query(w, prefix=params.typing_last and w is params.words[-1]) for w in words] + clauses
    if not clauses:
        return wq.Every()
    return clauses[0] if len(clauses) == 1 else wq.And(clauses)


def price_bounds(params: SearchParams) -> tuple[int | None, int | None] | None:
    """The price range, applied from the price column (a numeric range query over thousands of
    trie terms is the slowest thing Whoosh does here)."""
    if params.min_price is None and params.max_price is None:
        return None
    return params.min_price, params.max_price


def sort_facet(params: SearchParams) -> Any | None:
    """``None`` means by relevance (only when there is text to be relevant to)."""
    key = params.sort
    if key == "relevance":
        key = "relevance" if params.searchable else "newest"
    return {
        "relevance": None,
        "newest": FieldFacet("created", reverse=True),
        "price_asc": FieldFacet("price"),
        "price_desc": FieldFacet("price", reverse=True),
        "ending_soon": FieldFacet("ends_soon"),
    }[key]
