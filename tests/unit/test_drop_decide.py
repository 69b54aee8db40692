"""The press batch decider on plain data, without a database: stock and limits are never exceeded,
first come first served, a key keeps its answer, one answer per press, whatever the batching."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from app.drops import rules
from app.drops.rules import Answered, Conflicted, Granted, Outcome, Press, PressResult, SameAs, decide
from app.models.catalog import ProductStatus, SaleMode
from tests.helpers.clock import NOW

HOLD = timedelta(minutes=10)
PRODUCT = 7
FAST = settings(max_examples=150, deadline=None, derandomize=True)


def product(fixed: int = 5, taken: int = 0, limit: int = 1, **kw) -> rules.DropSnapshot:
    base = {
        "product_id": PRODUCT,
        "status": ProductStatus.ON_SALE,
        "purchase_limit": limit,
        "list_price": 30_000,
        "fixed_quantity": fixed,
        "taken_quantity": taken,
        "hold": HOLD,
        "active": frozenset(range(1, 50)),
    }
    return rules.DropSnapshot(**(base | kw))


def key(n: int) -> str:
    return f"key-{n:016d}"


def presses(*rows: tuple[int, int], at: datetime = NOW) -> list[tuple[Press, datetime]]:
    return [(Press(PRODUCT, member, key(k)), at) for member, k in rows]


class Store:
    """What the database keeps between batches: rights (with ids in the order written), kept
    refusals and the taken units; and each press's answer as the service gives it."""

    def __init__(self, snapshot: rules.DropSnapshot) -> None:
        self.snapshot = snapshot
        self.ids = itertools.count(1)

    def run(self, batch: list[tuple[Press, datetime]]) -> list[PressResult | str]:
        decision = decide(self.snapshot, batch)
        ids = {g.key: next(self.ids) for g in decision.grants}
        results = resolve(decision, ids)
        s = self.snapshot
        rights = dict(s.rights) | {
            g.key: rules.KnownRight(ids[g.key], g.member_id, PRODUCT, g.expires_at) for g in decision.grants
        }
        refusals = dict(s.refusals) | {r.key: r for r in decision.refusals}
        holding = Counter(s.holding) + Counter(g.member_id for g in decision.grants)
        taken = decision.taken_quantity if decision.grants else s.taken_quantity
        status = ProductStatus.CONVERSION_PENDING if decision.sold_out else s.status
        self.snapshot = replace(
            s, rights=rights, refusals=refusals, holding=dict(holding), taken_quantity=taken, status=status
        )
        return results


def resolve(decision: rules.DropDecision, ids: dict[str, int]) -> list[PressResult | str]:
    """Each press's answer, as the service turns the decision into results (a conflict as "conflict")."""
    results: list[PressResult | str] = []
    for answer in decision.answers:
        match answer:
            case Answered(result):
                results.append(result)
            case Granted(grant):
                results.append(PressResult(Outcome.GRANTED, ids[grant.key], expires_at=grant.expires_at))
            case Conflicted():
                results.append("conflict")
            case SameAs(first):
                earlier = results[first]
                results.append(replace(earlier, replayed=True) if isinstance(earlier, PressResult) else earlier)
    return results


# ---------------------------------------------------------------- examples


def test_presses_are_granted_in_order_until_the_units_run_out():
    decision = decide(product(fixed=2), presses((1, 1), (2, 2), (3, 3)))
    assert [type(a) for a in decision.answers] == [Granted, Granted, Answered]
    assert decision.answers[2] == Answered(PressResult(Outcome.SOLD_OUT))
    assert [(g.member_id, g.key, g.unit_price, g.expires_at) for g in decision.grants] == [
        (1, key(1), 30_000, NOW + HOLD),
        (2, key(2), 30_000, NOW + HOLD),
    ]
    assert [(r.key, r.outcome) for r in decision.refusals] == [(key(3), Outcome.SOLD_OUT)]
    assert decision.taken_quantity == 2 and decision.sold_out


def test_a_product_not_selling_refuses_and_keeps_the_refusal():
    for status, outcome in [
        (ProductStatus.SCHEDULED, Outcome.NOT_ON_SALE),
        (ProductStatus.CONVERSION_PENDING, Outcome.SOLD_OUT),
        (ProductStatus.AUCTION_LIVE, Outcome.ENDED),
        (ProductStatus.ENDED, Outcome.ENDED),
    ]:
        decision = decide(product(status=status), presses((1, 1)))
        assert decision.answers == (Answered(PressResult(outcome)),)
        assert [r.outcome for r in decision.refusals] == [outcome] and not decision.grants


def test_a_signed_out_member_is_refused_and_the_refusal_is_not_kept():
    decision = decide(product(active=frozenset({2})), presses((1, 1), (2, 2)))
    assert decision.answers[0] == Answered(PressResult(Outcome.SIGNED_OUT))
    assert decision.refusals == () and [g.member_id for g in decision.grants] == [2]


@pytest.mark.parametrize("status", [ProductStatus.ON_SALE, ProductStatus.SCHEDULED, ProductStatus.CONVERSION_PENDING])
def test_the_seller_is_refused_their_own_product_and_nothing_is_kept(status):
    decision = decide(product(seller_id=3, status=status), presses((3, 1), (2, 2), (3, 3)))
    assert decision.answers[0] == decision.answers[2] == Answered(PressResult(Outcome.OWN_PRODUCT))
    assert not decision.answers[0].result.final
    assert all(r.member_id != 3 for r in decision.refusals) and all(g.member_id != 3 for g in decision.grants)


def test_a_press_from_an_ended_session_is_refused_as_signed_out():
    # member 1's sessions were ended (generation 1 → 2): a press signed in at 1 no longer counts
    snapshot = product(generations={1: 2, 2: 0})
    old, current = Press(PRODUCT, 1, key(1), generation=1), Press(PRODUCT, 1, key(2), generation=2)
    decision = decide(snapshot, [(old, NOW), (current, NOW), (Press(PRODUCT, 2, key(3)), NOW)])
    assert decision.answers[0] == Answered(PressResult(Outcome.SIGNED_OUT))
    assert [g.key for g in decision.grants] == [key(2), key(3)]  # no generation given: not a session's


def test_a_member_at_the_limit_is_refused():
    decision = decide(product(limit=2, holding={1: 1}), presses((1, 1), (1, 2), (2, 3)))
    assert [type(a) for a in decision.answers] == [Granted, Answered, Granted]
    assert decision.answers[1] == Answered(PressResult(Outcome.LIMIT))


def test_known_keys_answer_as_before_and_belong_to_their_member():
    snapshot = product(
        rights={key(1): rules.KnownRight(41, 1, PRODUCT, NOW + HOLD)},
        refusals={
            key(2): rules.Refusal(key(2), 2, PRODUCT, Outcome.SOLD_OUT),
            key(3): rules.Refusal(key(3), 3, 99, Outcome.LIMIT),
        },
    )
    decision = decide(snapshot, presses((1, 1), (2, 2), (5, 1), (3, 3), (4, 4), (4, 4), (6, 4)))
    assert decision.answers == (
        Answered(PressResult(Outcome.GRANTED, 41, replayed=True, expires_at=NOW + HOLD)),
        Answered(PressResult(Outcome.SOLD_OUT, replayed=True)),
        Conflicted(),
        Conflicted(),  # the refusal was for another product
        decision.answers[4],
        SameAs(4),
        Conflicted(),
    )
    assert isinstance(decision.answers[4], Granted) and len(decision.grants) == 1


# ---------------------------------------------------------------- properties

press_rows = st.lists(st.tuples(st.integers(1, 8), st.integers(1, 12)), min_size=1, max_size=30)
snapshots = st.builds(
    product,
    fixed=st.integers(0, 8),
    taken=st.integers(0, 8),
    limit=st.integers(1, 3),
    holding=st.dictionaries(st.integers(1, 8), st.integers(0, 3), max_size=4),
    active=st.frozensets(st.integers(1, 8), min_size=4),
).filter(lambda s: s.taken_quantity <= s.fixed_quantity)


@FAST
@given(snapshot=snapshots, rows=press_rows)
def test_never_more_granted_than_the_stock_nor_per_member_than_the_limit(snapshot, rows):
    decision = decide(snapshot, presses(*rows))
    assert len(decision.answers) == len(rows)  # exactly one answer per press
    left = snapshot.fixed_quantity - snapshot.taken_quantity
    assert len(decision.grants) <= left
    assert decision.taken_quantity == snapshot.taken_quantity + len(decision.grants) <= snapshot.fixed_quantity
    assert decision.sold_out == (bool(decision.grants) and decision.taken_quantity == snapshot.fixed_quantity)
    for member, count in Counter(g.member_id for g in decision.grants).items():
        assert snapshot.holding.get(member, 0) + count <= snapshot.purchase_limit
        assert member in snapshot.active
    assert len({g.key for g in decision.grants}) == len(decision.grants)  # never two rights for one key


@FAST
@given(snapshot=snapshots, rows=press_rows)
def test_first_come_first_served(snapshot, rows):
    decision = decide(snapshot, presses(*rows))
    refused_for_stock = [i for i, a in enumerate(decision.answers) if a == Answered(PressResult(Outcome.SOLD_OUT))]
    granted = [i for i, a in enumerate(decision.answers) if isinstance(a, Granted)]
    if refused_for_stock and granted:
        assert max(granted) < min(refused_for_stock)  # nobody after a sold-out answer got a unit


@FAST
@given(snapshot=snapshots, rows=press_rows)
def test_a_replayed_key_gets_the_same_answer(snapshot, rows):
    store = Store(snapshot)
    first = store.run(presses(*rows))
    again = store.run(presses(*rows, at=NOW + timedelta(minutes=1)))
    for was, now in zip(first, again, strict=True):
        if was == "conflict" or now == "conflict":
            assert was == now
        elif was.outcome is Outcome.SIGNED_OUT:  # not kept: asked again, and still no unit
            assert now.outcome is not Outcome.GRANTED
        else:
            assert now.replayed and (now.outcome, now.right_id, now.expires_at) == (
                was.outcome,
                was.right_id,
                was.expires_at,
            )


def comparable(result: PressResult | str) -> object:
    if isinstance(result, str):
        return result
    kept = result.outcome is not Outcome.SIGNED_OUT  # a signed-out press is asked again, not replayed
    return (result.outcome, result.right_id, result.expires_at, result.replayed and kept)


@FAST
@given(snapshot=snapshots, rows=press_rows, cuts=st.lists(st.integers(0, 30), max_size=5))
@example(snapshot=product(fixed=1), rows=[(1, 1), (1, 2)], cuts=[1])  # sold out between the batches
@example(snapshot=product(fixed=3, active=frozenset({2})), rows=[(1, 1), (1, 1), (2, 2)], cuts=[1])
def test_the_outcome_does_not_depend_on_how_the_presses_are_batched(snapshot, rows, cuts):
    # The rule holds for every answer a key keeps; a signed-out member's press is not kept, so a
    # later press of its key by another member is a conflict in the same batch and new after it.
    first_owner: dict[int, int] = {}
    for member, k in rows:
        first_owner.setdefault(k, member)
    assume(all(first_owner[k] == m or first_owner[k] in snapshot.active for m, k in rows))
    batch = presses(*rows)
    one = Store(snapshot)
    whole = one.run(batch)
    store = Store(snapshot)
    split: list[PressResult | str] = []
    bounds = [0, *sorted({c for c in cuts if c < len(batch)}), len(batch)]
    for lo, hi in itertools.pairwise(bounds):
        split.extend(store.run(batch[lo:hi]) if hi > lo else [])
    assert [granted(r) for r in whole] == [granted(r) for r in split]  # the same presses get the units
    a, b = one.snapshot, store.snapshot
    assert (a.rights, a.holding, a.taken_quantity, a.status) == (b.rights, b.holding, b.taken_quantity, b.status)
    if a.status is snapshot.status:
        # Once the last unit goes the product stops selling, and a later batch says sold out where
        # the same batch named the member's limit first; otherwise every answer is the same.
        assert [comparable(r) for r in whole] == [comparable(r) for r in split]
        assert a.refusals == b.refusals


def granted(result: PressResult | str) -> object:
    if isinstance(result, str) or result.outcome is not Outcome.GRANTED:
        return result if isinstance(result, str) else "refused"
    return (result.right_id, result.expires_at)


# ---------------------------------------------------------------- sale modes


def test_a_draw_sells_nothing_by_buy_and_keeps_no_refusal() -> None:
    decision = decide(product(sale_mode=SaleMode.DRAW), presses((1, 1), (2, 2)))
    assert [a.result.outcome for a in decision.answers if isinstance(a, Answered)] == [Outcome.DRAW, Outcome.DRAW]
    assert decision.grants == () and decision.refusals == () and decision.taken_quantity == 0


def test_a_waiting_room_grants_only_presses_with_an_admission() -> None:
    batch = [(Press(PRODUCT, 1, key(1)), NOW), (Press(PRODUCT, 2, key(2), admitted=True), NOW)]
    decision = decide(product(sale_mode=SaleMode.WAITING_ROOM), batch)
    first, second = decision.answers
    assert isinstance(first, Answered) and first.result.outcome is Outcome.JOIN_LINE
    assert isinstance(second, Granted) and second.grant.member_id == 2
    assert decision.refusals == ()  # "join the line" is not kept: the same key may come back admitted


def test_a_waiting_room_tells_a_press_without_admission_it_is_sold_out_once_the_units_are_gone() -> None:
    decision = decide(product(fixed=1, taken=1, sale_mode=SaleMode.WAITING_ROOM), presses((1, 1)))
    (answer,) = decision.answers
    assert isinstance(answer, Answered) and answer.result.outcome is Outcome.SOLD_OUT


def test_an_admission_changes_nothing_in_a_first_come_sale() -> None:
    batch = [(Press(PRODUCT, 1, key(1), admitted=True), NOW), (Press(PRODUCT, 2, key(2)), NOW)]
    decision = decide(product(), batch)
    assert [g.member_id for g in decision.grants] == [1, 2]
