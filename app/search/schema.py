"""The Whoosh schema and its analyzers.

English words (Latin script, digits) are stemmed with the Snowball English stemmer (Whoosh's
default Porter stemmer turns ``running`` into ``runn``): ``running`` finds ``run``. Hangul, kana and
Han characters are indexed as 1–4 character n-grams of each CJK run, so any substring of a word
matches: ``피규어`` finds ``한정판피규어세트``. Each script only goes to its own analyzer, so a
mixed word like ``한정판figure`` is found by ``figure`` and by ``정판``.
"""

from __future__ import annotations

import unicodedata

from whoosh.analysis import Analyzer, LowercaseFilter, NgramFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

# Hangul syllables and jamo, kana, CJK ideographs (incl. extension A and compatibility ideographs).
CJK_CHARS = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7af\uf900-\ufaff"
CJK_RUN = f"[{CJK_CHARS}]+"
# Letters and digits that are not CJK (``\w`` without ``_`` and without the CJK ranges).
WORD_RUN = rf"(?:(?![{CJK_CHARS}_])\w)+"

NGRAM_MIN = 1
NGRAM_MAX = 4


def normalise(text: str) -> str:
    """NFKC: full-width Latin becomes ASCII, decomposed Hangul jamo become syllables."""
    return unicodedata.normalize("NFKC", text or "")


def word_analyzer() -> Analyzer:
    return (
        RegexTokenizer(WORD_RUN) | LowercaseFilter() | StopFilter(minsize=2) | StemFilter(lang="en", cachesize=50_000)
    )


def ngram_analyzer() -> Analyzer:
    """Whoosh's NgramWordAnalyzer with a tokenizer that only takes CJK runs."""
    return RegexTokenizer(CJK_RUN) | NgramFilter(NGRAM_MIN, NGRAM_MAX)


def build_schema() -> Schema:
    return Schema(
        id=ID(unique=True, stored=True),
        # Searching goes through one field per script over the name (three times, which ranks name
        # matches first), category path and description: one posting list per word or n-gram, the
        # cheapest thing for Whoosh to intersect, rank and count. The seller's name is not searched.
        text=TEXT(analyzer=word_analyzer(), phrase=False),
        ngrams=TEXT(analyzer=ngram_analyzer(), phrase=False),
        # The name alone: the word being typed matches as a prefix of a name word.
        name=TEXT(analyzer=word_analyzer(), stored=True, phrase=False),
        category=TEXT(analyzer=word_analyzer(), stored=True, phrase=False),
        seller=STORED(),  # shown on a hit, never matched
        # The category and all its ancestors, so filtering by a category includes its subtree.
        category_ids=KEYWORD(stored=True),
        status=ID(stored=True),
        # signed: Whoosh 2.7 range queries on unsigned numeric fields ignore the upper bound
        price=NUMERIC(int, bits=64, stored=True, sortable=True),
        # Sort-only values: columns without index terms (a 64-bit NUMERIC adds 16 terms per value).
        created=COLUMN(NumericColumn("q")),
        updated=COLUMN(NumericColumn("q")),
        # "Ending soon" sort key; see ``documents.ends_soon_key``.
        ends_soon=COLUMN(NumericColumn("q")),
        popularity=COLUMN(NumericColumn("q")),
    )


SCHEMA = build_schema()
