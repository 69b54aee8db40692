"""Building Whoosh queries from what visitors type: no query-syntax parser, no exceptions."""

from __future__ import annotations

from whoosh import query as wq

from app.search.query import (
    MAX_CHARS,
    MAX_WORDS,
    build_query,
    filter_terms,
    ngrams,
    parse_params,
    price_bounds,
    sort_facet,
    split_words,
)


def _terms(q: wq.Query) -> set[tuple[str, str]]:
    """The query's terms; every stemmed ``text`` term must also be asked of the ``name`` field
    (boosted, so name matches rank first), and those mirror terms are left out of the answer."""
    found = {(field, text if isinstance(text, str) else text.decode()) for field, text in q.iter_all_terms()}
    text_terms = {t for field, t in found if field == "text"}
    name_terms = {t for field, t in found if field == "name"}
    assert text_terms <= name_terms, text_terms - name_terms
    return {(field, t) for field, t in found if field != "name"}


def test_query_syntax_characters_are_plain_separators():
    params = parse_params('name:x OR (y* AND ~z) figure^5 "quoted [a TO b]"')
    words = [w.text for w in params.words]
    assert words == ["name", "x", "or", "y", "and", "z", "figure", "5", "quoted", "a", "to", "b"]
    assert params.messages == ()
    assert [w.text for w in parse_params("{c} -d +e/f\\g").words] == ["c", "d", "e", "f", "g"]
    query = build_query(params)
    terms = _terms(query)
    # stop words ("or", "and", "to", "a") and one-character words are dropped
    assert terms == {("text", "name"), ("text", "figur"), ("text", "quot")}
    assert all(isinstance(leaf, wq.Term) for leaf in query.leaves())


def test_unbalanced_syntax_and_odd_characters_do_not_raise():
    for text in ['"', "((((", "*", "a:", ":::", "~~", "\x00\x01", "\ud800abc", "AND OR NOT", "name:", "🙂🙂"]:
        params = parse_params(text)
        build_query(params)  # never raises


def test_text_without_usable_words_matches_nothing_and_says_why():
    params = parse_params("*** ~ ( )")
    assert build_query(params) is wq.NullQuery
    assert params.messages and "at least one word" in params.messages[0]
    assert build_query(parse_params("the and")) is wq.NullQuery


def test_empty_text_browses_everything():
    params = parse_params("   ")
    assert isinstance(build_query(params), wq.Every)
    assert params.messages == ()


def test_long_input_is_capped_with_a_message():
    params = parse_params("figure " * 1000)
    assert len(params.q) <= MAX_CHARS
    assert len(params.words) == MAX_WORDS
    assert any(str(MAX_CHARS) in m for m in params.messages)
    assert any(f"first {MAX_WORDS} words" in m for m in params.messages)
    one_word = parse_params("가" * 5000)
    assert len(one_word.q) == MAX_CHARS and len(one_word.words) == 1


def test_english_words_are_stemmed_and_all_must_match():
    query = build_query(parse_params("Running Figures "))
    assert isinstance(query, wq.And) and len(query.subqueries) == 2
    assert _terms(query) == {("text", "run"), ("text", "figur")}


def test_the_word_being_typed_also_matches_as_a_name_prefix():
    typing = build_query(parse_params("vinyl figu"))
    assert any(isinstance(leaf, wq.Prefix) and leaf.text == "figu" for leaf in typing.leaves())
    finished = build_query(parse_params("vinyl figu "))
    assert not any(isinstance(leaf, wq.Prefix) for leaf in finished.leaves())


def test_korean_words_use_ngrams_and_long_words_need_all_their_grams():
    assert [w.cjk for w in split_words("한정판figure 피규어")] == [True, False, True]
    assert build_query(parse_params("피규어")) == wq.Term("ngrams", "피규어")
    assert build_query(parse_params("피")) == wq.Term("ngrams", "피")
    assert ngrams("한정판피규어") == ["한정판피", "정판피규", "판피규어"]
    long = build_query(parse_params("한정판피규어"))
    assert long == wq.And([wq.Term("ngrams", g) for g in ["한정판피", "정판피규", "판피규어"]])
    mixed = build_query(parse_params("한정판figure"))
    assert _terms(mixed) == {("ngrams", "한정판"), ("text", "figur")}


def test_full_width_input_is_normalised():
    assert [w.text for w in parse_params("ＦＩＧＵＲＥ").words] == ["figure"]


def test_filters_parse_and_bad_values_are_ignored_with_messages():
    params = parse_params(category="7", status="on_sale", min_price="₩10,000", max_price="50000", sort="price_desc")
    assert (params.category_id, params.status, params.min_price, params.max_price) == (7, "on_sale", 10_000, 50_000)
    assert params.messages == ()
    assert filter_terms(params) == [wq.Term("category_ids", "7"), wq.Term("status", "on_sale")]
    assert price_bounds(params) == (10_000, 50_000)
    assert build_query(params) == wq.And(filter_terms(params))  # no text: the filters alone
    assert _terms(build_query(parse_params("vinyl", status="ended"))) == {("text", "vinyl"), ("status", "ended")}
    facet = sort_facet(params)
    assert facet.fieldname == "price" and facet.reverse

    bad = parse_params(category="figures'--", status="draft", min_price="abc", max_price="-5", sort="drop table")
    assert (bad.category_id, bad.status, bad.min_price, bad.max_price, bad.sort) == (
        None,
        None,
        None,
        None,
        "relevance",
    )
    assert len(bad.messages) == 4
    assert filter_terms(bad) == [] and price_bounds(bad) is None
    assert isinstance(build_query(bad), wq.Every)
    assert parse_params(status="hidden").status is None
    assert parse_params(min_price="9" * 40).min_price is None


def test_unknown_category_ids_are_ignored_when_the_known_ones_are_given():
    assert parse_params(category="3", categories={1, 2}).category_id is None
    assert parse_params(category="2", categories={1, 2}).category_id == 2


def test_swapped_price_range_and_sort_keys():
    params = parse_params(min_price="9000", max_price="1000")
    assert (params.min_price, params.max_price) == (1000, 9000)
    assert params.messages
    assert sort_facet(parse_params("figure")) is None  # relevance
    assert sort_facet(parse_params("")).fieldname == "created"  # nothing to be relevant to: newest
    assert sort_facet(parse_params("x", sort="ending_soon")).fieldname == "ends_soon"
    assert sort_facet(parse_params("x", sort="price_asc")).reverse is False


def test_query_dict_keeps_only_what_was_set():
    params = parse_params("피규어", min_price="1000", sort="newest")
    assert params.as_query_dict() == {
        "q": "피규어",
        "category": "",
        "status": "",
        "min_price": "1000",
        "max_price": "",
        "sort": "newest",
    }
