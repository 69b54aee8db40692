"""The draw on plain data: a committed seed orders the entries by SHA-256 so anyone can recompute
the winners, the order depends on the seed and the set of entries only, and the cascade offers
each unit to the next entry in draw order, never to one offered before."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.drops.draw_rules import (
    DrawResult,
    Offer,
    commitment,
    draw,
    draw_order,
    new_seed,
    next_offers,
    rank_key,
    verify,
)

FAST = settings(max_examples=150, deadline=None, derandomize=True)
SEED = bytes(range(32)).hex()  # 000102…1f
# Fixed seeds, not random ones: the same list every run.
SEEDS = [hashlib.sha256(f"fixed seed {n}".encode()).hexdigest() for n in range(12)]

entry_sets = st.sets(st.integers(min_value=-(10**6), max_value=10**9), max_size=40)
unit_counts = st.integers(min_value=0, max_value=50)


def by_hand(seed: str, ids: list[int]) -> list[int]:
    """The published rule, written out again: ascending sha256("<seed>:<id>") hex, then id."""
    return sorted(ids, key=lambda i: (hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), i))


def test_a_new_seed_is_64_lowercase_hex_characters_and_fresh_each_time() -> None:
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20
    assert all(re.fullmatch(r"[0-9a-f]{64}", seed) for seed in seeds)


def test_the_commitment_is_the_sha256_of_the_seed() -> None:
    # the FIPS 180-2 test vector for "abc"
    assert commitment("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert commitment(SEED) == hashlib.sha256(SEED.encode("ascii")).hexdigest()


def test_a_seed_that_is_not_ascii_has_no_commitment() -> None:
    with pytest.raises(ValueError):
        commitment("séed")


def test_the_rank_key_is_the_sha256_of_seed_colon_id() -> None:
    assert rank_key(SEED, 1) == "eca0e32af39d3344f1fdc8d50a7a79d42c2c3b6a44e6b76901b50b1118e268ac"
    assert rank_key(SEED, 2) == "2c08483bc928442438b23dcb26b68113c2d2db7527922a515dda0a91798bb3a2"
    assert rank_key(SEED, 7) == hashlib.sha256(f"{SEED}:7".encode()).hexdigest()


def test_a_fixed_seed_and_fixed_ids_give_a_fixed_order() -> None:
    assert draw_order(SEED, range(1, 11)) == [2, 4, 10, 8, 3, 9, 6, 7, 1, 5]
    assert draw_order(SEED, [7, 42, 1001, 3, 58]) == [42, 3, 58, 7, 1001]
    assert draw_order(SEED, range(1, 11)) == by_hand(SEED, list(range(1, 11)))


def test_equal_hashes_would_be_ordered_by_id() -> None:
    # a tie cannot be produced with SHA-256, so the sort key itself is checked
    ids = [5, 3, 9]
    assert draw_order(SEED, ids) == sorted(ids, key=lambda i: (rank_key(SEED, i), i))


def test_the_draw_is_deterministic() -> None:
    first = draw(SEED, range(1, 30), 4)
    assert draw(SEED, range(1, 30), 4) == first
    assert first == DrawResult(seed=SEED, order=tuple(by_hand(SEED, list(range(1, 30)))), winners=first.order[:4])


def test_an_entry_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        draw_order(SEED, [1, 2, 1])
    with pytest.raises(ValueError):
        draw(SEED, [4, 4], 1)


def test_negative_units_are_refused() -> None:
    with pytest.raises(ValueError):
        draw(SEED, [1, 2], -1)


def test_with_fewer_entries_than_units_everyone_wins() -> None:
    result = draw(SEED, [8, 9, 10], 5)
    assert sorted(result.winners) == [8, 9, 10]
    assert result.winners == result.order


def test_no_entries_no_winners() -> None:
    assert draw(SEED, [], 3) == DrawResult(seed=SEED, order=(), winners=())


@FAST
@given(ids=entry_sets, units=unit_counts)
def test_the_order_is_a_permutation_and_the_winners_its_prefix(ids: set[int], units: int) -> None:
    result = draw(SEED, ids, units)
    assert sorted(result.order) == sorted(ids)
    assert result.winners == result.order[: min(units, len(ids))]
    assert list(result.order) == by_hand(SEED, list(ids))


@FAST
@given(ids=st.lists(st.integers(min_value=0, max_value=10**6), unique=True, max_size=40), data=st.data())
def test_the_same_seed_and_set_give_the_same_result_in_any_input_order(ids: list[int], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(ids))
    units = data.draw(unit_counts)
    assert draw(SEED, shuffled, units) == draw(SEED, ids, units)
    assert draw(SEED, iter(shuffled), units) == draw(SEED, tuple(ids), units)


@pytest.mark.parametrize("ids", [range(1, 9), range(1000, 1008), [3, 14, 15, 92, 65, 35, 89, 79], range(1, 21)])
def test_different_seeds_give_different_orders(ids: range | list[int]) -> None:
    orders = [tuple(draw_order(seed, ids)) for seed in SEEDS]
    assert len(set(orders)) == len(SEEDS)


@FAST
@given(ids=st.sets(st.integers(min_value=0, max_value=10**6), min_size=8, max_size=30))
def test_for_eight_entries_or_more_the_fixed_seeds_do_not_all_agree(ids: set[int]) -> None:
    orders = {tuple(draw_order(seed, ids)) for seed in SEEDS[:5]}
    assert len(orders) > 1


def test_a_one_character_change_of_the_seed_changes_the_order() -> None:
    other = SEED[:-1] + "e"
    assert draw_order(other, range(1, 11)) != draw_order(SEED, range(1, 11))


# The cascade


ORDER = [30, 10, 50, 20, 40, 60]


def test_the_first_offers_go_to_the_head_of_the_draw_order() -> None:
    assert next_offers(ORDER, {}, 2) == [30, 10]
    assert next_offers(ORDER, {}, 0) == []


def test_holding_and_paid_entries_take_units_and_lapsed_ones_are_passed_over() -> None:
    states = {30: Offer.PAID, 10: Offer.LAPSED, 50: Offer.HOLDING}
    assert next_offers(ORDER, states, 3) == [20]
    assert next_offers(ORDER, states, 2) == []
    assert next_offers(ORDER, states | {20: Offer.PENDING}, 4) == [20, 40]


def test_entries_missing_from_the_states_are_pending() -> None:
    assert next_offers(ORDER, {30: Offer.PENDING, 10: Offer.HOLDING}, 3) == [30, 50]


def test_no_offers_when_no_one_is_left() -> None:
    states = dict.fromkeys(ORDER[:5], Offer.LAPSED) | {60: Offer.HOLDING}
    assert next_offers(ORDER, states, 3) == []
    assert next_offers(ORDER, dict.fromkeys(ORDER, Offer.LAPSED), 2) == []


def test_fewer_offers_than_free_units_when_the_line_runs_short() -> None:
    states = dict.fromkeys(ORDER[:4], Offer.LAPSED)
    assert next_offers(ORDER, states, 5) == [40, 60]


def test_taken_units_outside_the_order_still_count() -> None:
    assert next_offers(ORDER, {999: Offer.PAID}, 2) == [30]


def test_the_cascade_refuses_negative_units_and_a_repeated_entry() -> None:
    with pytest.raises(ValueError):
        next_offers(ORDER, {}, -1)
    with pytest.raises(ValueError):
        next_offers([1, 2, 1], {}, 2)


@FAST
@given(
    size=st.integers(min_value=0, max_value=25),
    units=st.integers(min_value=0, max_value=8),
    outcomes=st.lists(st.tuples(st.integers(min_value=0, max_value=30), st.booleans()), max_size=60),
)
def test_the_cascade_never_reoffers_fills_the_free_units_and_follows_the_order(
    size: int, units: int, outcomes: list[tuple[int, bool]]
) -> None:
    order = draw_order(SEED, range(1, size + 1))
    states: dict[int, Offer] = {}
    offered: list[int] = []
    for pick, pays in [(0, False), *outcomes]:
        taken_before = sum(1 for s in states.values() if s in (Offer.HOLDING, Offer.PAID))
        pending = [e for e in order if states.get(e, Offer.PENDING) is Offer.PENDING]
        offers = next_offers(order, states, units)
        assert not set(offers) & set(offered)  # never re-offered
        assert offers == pending[: max(0, units - taken_before)]  # the first pending, exactly the free units
        for entry in offers:
            states[entry] = Offer.HOLDING
        offered += offers
        assert offered == order[: len(offered)]  # everyone offered so far is a head of the draw order
        holding = [e for e in offered if states[e] is Offer.HOLDING]
        assert len(holding) + sum(1 for s in states.values() if s is Offer.PAID) <= units
        if holding:  # one holder pays or lets the right lapse
            states[holding[pick % len(holding)]] = Offer.PAID if pays else Offer.LAPSED


# Verification


def test_verify_recomputes_the_draw_when_the_seed_matches_the_commitment() -> None:
    assert verify(SEED, commitment(SEED), [5, 1, 3], 2) == draw(SEED, [1, 3, 5], 2)


@pytest.mark.parametrize(
    "published",
    [commitment(SEEDS[0]), commitment(SEED).upper(), commitment(SEED)[:-1], "", commitment(SEED + " ")],
)
def test_verify_refuses_a_seed_that_does_not_match_the_commitment(published: str) -> None:
    with pytest.raises(ValueError, match="commitment"):
        verify(SEED, published, [1, 2, 3], 1)
