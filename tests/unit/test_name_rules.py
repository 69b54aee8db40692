"""Display names: invisible characters are removed, and names that speak for the shop are
refused in any case, spacing or look-alike spelling."""

from __future__ import annotations

import pytest

from app.accounts.name_rules import clean_display_name, is_reserved


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("\u202eevil\u202c name", "evil name"),  # bidi override and pop
        ("\u2066Kim\u2069", "Kim"),  # bidi isolates
        ("zero\u200bwidth\u200c\u200dname\ufeff", "zerowidthname"),
        ("soft\u00adhyphen\u2060", "softhyphen"),
        ("\u3164\u115f\u1160", ""),  # Hangul fillers alone are nothing
        ("  many \u3000 \u00a0 spaces\n ", "many spaces"),
        ("한정판 수집가", "한정판 수집가"),
        ("Cafe\u0301", "Café"),  # NFC
    ],
)
def test_invisible_characters_and_extra_spaces_are_removed(raw: str, kept: str) -> None:
    assert clean_display_name(raw) == kept


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "ADMIN",
        "a d m i n",
        "Admin Kim",
        "adm1n",
        "4dmin",
        "\uff41\uff44\uff4d\uff49\uff4e",  # full-width
        "\u0430dmin",  # Cyrillic а
        "administrator",
        "Sysadmin",
        "Moderator",
        "Smore",
        "S.M.O.R.E",
        "$more",
        "\u0455m\u043er\u0435",  # Cyrillic ѕ, о, е
        "Smore Admin",
        "smore_admin",
        "SmoreOfficial",
        "운영자",
        "관리자",
        "관 리 자",
        "스모어",
        "스모어 공식",
        "관리자김",
    ],
)
def test_names_that_speak_for_the_shop_are_reserved(name: str) -> None:
    assert is_reserved(name)


@pytest.mark.parametrize(
    "name",
    ["Badminton fan", "Hanbit Figures", "Demo Shopper", "Ramin", "Dmitri", "Simone", "김민수", "한정판 수집가", "Bo"],
)
def test_ordinary_names_are_not(name: str) -> None:
    assert not is_reserved(name)
