"""The Korean/CJK grams PostgreSQL's search indexes and asks for (``app.search.pg_rows``)."""

from __future__ import annotations

from app.search.pg_rows import cjk_grams, query_grams


def test_one_and_two_character_grams_of_each_cjk_run():
    assert cjk_grams("가방 인형") == ["가", "방", "가방", "인", "형", "인형"]
    assert cjk_grams("피규어") == ["피", "규", "어", "피규", "규어"]


def test_latin_digits_and_punctuation_make_no_grams_and_split_runs():
    assert cjk_grams("Running figure 2024!") == []
    # "figure" between the runs: no gram spans it
    assert cjk_grams("한정figure판") == ["한", "정", "한정", "판"]


def test_each_gram_once_and_input_is_normalised():
    assert cjk_grams("가가가") == ["가", "가가"]
    decomposed = "\u1100\u1161\u1107\u1161\u11bc"  # 가방 as conjoining jamo
    assert cjk_grams(decomposed) == ["가", "방", "가방"]
    assert cjk_grams("") == [] and cjk_grams("\x00'; DROP TABLE products; --") == []


def test_kana_and_han_are_cjk_too():
    assert cjk_grams("東京タワー") == ["東", "京", "タ", "ワ", "ー", "東京", "京タ", "タワ", "ワー"]


def test_a_query_word_needs_all_its_two_character_grams():
    assert query_grams("가") == ["가"]
    assert query_grams("가방") == ["가방"]
    assert query_grams("피규어") == ["피규", "규어"]
    assert query_grams("가가가") == ["가가"]
    # every gram a word asks for is one its own text is indexed with
    for word in ("인형", "한정판피규어세트", "가가가"):
        assert set(query_grams(word)) <= set(cjk_grams(word))
