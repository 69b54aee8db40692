"""The bid batch decider on plain data, without a database: ranking, ties, proxy wars, the minimum
next bid, the soft close, replays, and an outcome that does not depend on how bids are batched."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.auctions.rules import (
    AuctionSnapshot,
    AuctionStatus,
    BidDecision,
    BidRequest,
    KeyedBid,
    Standing,
    decide,
)
from tests.helpers.clock import END, NOW

EXTEND = timedelta(seconds=60)
SELLER = 1_000
START, INC = 10_000, 500
FAST = settings(max_examples=150, deadline=None, derandomize=True)


def auction(units: int = 1, standings: tuple[Standing, ...] = (), **kw) -> AuctionSnapshot:
    base = {
        "status": AuctionStatus.LIVE,
        "ends_at": END,
        "units": units,
        "start_price": START,
        "increment": INC,
        "seller_id": SELLER,
        "sequence": max((s.sequence for s in standings), default=0),
        "extend": EXTEND,
        "standings": standings,
        "active": frozenset(range(1, 100)),
    }
    return AuctionSnapshot(**(base | kw))


def bid(member: int, amount: int | None = None, maximum: int | None = None, key: str | None = None) -> BidRequest:
    return BidRequest(1, member, amount, maximum, key)


def run(snapshot: AuctionSnapshot, *requests: BidRequest, at: datetime = NOW) -> BidDecision:
    return decide(snapshot, [(r, at) for r in requests])


def after(snapshot: AuctionSnapshot, decision: BidDecision) -> AuctionSnapshot:
    """The snapshot the next batch loads once this decision is written."""
    standings = {s.member_id: s for s in snapshot.standings}
    for w in decision.standings:
        standings[w.member_id] = Standing(w.member_id, w.amount, w.sequence, w.maximum)
    keyed = dict(snapshot.keyed or {}) | {b.key: KeyedBid(b.member_id, b.amount) for b in decision.bids if b.key}
    return replace(
        snapshot,
        standings=tuple(standings.values()),
        keyed=keyed,
        sequence=decision.sequence,
        ends_at=decision.ends_at,
    )


def in_batches(snapshot: AuctionSnapshot, requests: list[tuple[BidRequest, datetime]], cuts: list[int]):
    """Decide ``requests`` in consecutive batches cut at ``cuts``: the answers and the last snapshot."""
    answers = []
    bounds = [0, *sorted(set(cuts)), len(requests)]
    for lo, hi in itertools.pairwise(bounds):
        if lo == hi:
            continue
        decision = decide(snapshot, requests[lo:hi])
        answers.extend(decision.answers)
        snapshot = after(snapshot, decision)
    return answers, snapshot


def standings_of(snapshot: AuctionSnapshot) -> dict[int, tuple[int, int | None]]:
    return {s.member_id: (s.amount, s.maximum) for s in snapshot.standings}


# ---------------------------------------------------------------- examples


def test_one_bid_is_written_with_its_standing_and_the_auction_sequence():
    decision = run(auction(units=2), bid(7, 12_000, key="k" * 10))
    assert decision.accepted == 1 and decision.sequence == 1 and not decision.extended
    (new,) = decision.bids
    assert (new.member_id, new.amount, new.proxy, new.sequence, new.key, new.at) == (7, 12_000, False, 1, "k" * 10, NOW)
    (standing,) = decision.standings
    assert (standing.member_id, standing.amount, standing.exists) == (7, 12_000, False)
    answer = decision.answers[0]
    assert answer.accepted and answer.message == "Your bid of ₩12,000 is in."
    assert answer.winners == ((7, 12_000),) and answer.minimum == START and answer.standing == 12_000


def test_refusals_write_nothing():
    snapshot = auction(active=frozenset({2, SELLER}))
    decision = run(snapshot, bid(1, 20_000), bid(SELLER, 20_000), bid(2, 9_000), bid(2))
    assert [a.accepted for a in decision.answers] == [False] * 4
    assert decision.answers[0].signed_out and decision.answers[0].message == "Please sign in to bid."
    assert decision.answers[1].message == "You cannot bid on your own product."
    assert decision.answers[2].message == "Bid at least ₩10,000."
    assert decision.answers[3].message == "Enter a bid, or a maximum for proxy bidding."
    assert (decision.accepted, decision.bids, decision.standings, decision.outbid) == (0, (), (), ())
    assert decision.sequence == snapshot.sequence and decision.ends_at == END


def test_a_bid_from_an_ended_session_is_refused_as_signed_out():
    snapshot = auction(units=2, active=frozenset({1, 2}), generations={1: 3, 2: 0})
    stale = BidRequest(1, 1, 20_000, None, "k" * 10, generation=2)
    fresh = BidRequest(1, 1, 20_000, None, "j" * 10, generation=3)
    decision = run(snapshot, stale, fresh, bid(2, 15_000))
    assert decision.answers[0].signed_out and not decision.answers[0].accepted
    assert [a.accepted for a in decision.answers[1:]] == [True, True]


def test_a_closed_or_ended_auction_takes_no_bids():
    closed = run(auction(status=AuctionStatus.CLOSED), bid(1, 20_000), bid(2, maximum=30_000))
    assert [a.message for a in closed.answers] == ["This auction is not taking bids."] * 2
    ended = run(auction(), bid(1, 20_000), at=END)
    assert ended.answers[0].message == "This auction has ended." and not ended.accepted


def test_a_key_already_used_gets_its_first_answer_and_another_members_key_is_refused():
    stored = auction(standings=(Standing(3, 11_000, 1),), keyed={"stored-key": KeyedBid(3, 11_000)})
    decision = run(
        stored, bid(3, 50_000, key="stored-key"), bid(4, 12_000, key="fresh-key"), bid(4, 12_000, key="fresh-key")
    )
    first, second, again = decision.answers
    assert (
        first.replay
        and first.amount == 11_000
        and first.message == "Your bid of ₩11,000 is in (sent twice, counted once)."
    )
    assert second.accepted and not second.replay
    assert again.replay and again.amount == 12_000
    assert len(decision.bids) == 1 and decision.accepted == 1
    other = run(stored, bid(5, 50_000, key="stored-key"))
    assert not other.answers[0].accepted and "another member" in other.answers[0].message


def test_an_outbid_member_is_noted_with_the_bid_that_pushed_them_out():
    decision = run(auction(standings=(Standing(1, 10_000, 1),)), bid(2, 10_500), bid(3, 11_000))
    assert dict(decision.outbid) == {1: 2, 2: 3}
    assert [(s.member_id, s.exists) for s in decision.standings] == [(2, False), (3, False)]


def test_a_proxy_raises_the_member_as_far_as_needed_and_no_further():
    snapshot = auction(standings=(Standing(1, 10_000, 1, maximum=20_000),))
    decision = run(snapshot, bid(2, 12_000))
    assert [(b.member_id, b.amount, b.proxy) for b in decision.bids] == [(2, 12_000, False), (1, 12_500, True)]
    assert decision.answers[0].winners == ((1, 12_500),)
    assert [(s.member_id, s.amount, s.maximum, s.exists) for s in decision.standings] == [
        (2, 12_000, None, False),
        (1, 12_500, 20_000, True),
    ]


def test_raising_only_the_maximum_of_a_winning_bid_places_no_bid():
    snapshot = auction(standings=(Standing(1, 12_000, 1),))
    decision = run(snapshot, bid(1, maximum=30_000), at=END - timedelta(seconds=5))
    assert decision.answers[0].message == "Your maximum is now ₩30,000; your bid stays at ₩12,000."
    assert decision.bids == () and not decision.extended  # no bid: the end stays
    (standing,) = decision.standings
    assert (standing.amount, standing.maximum, standing.exists, standing.sequence) == (12_000, 30_000, True, 1)


def test_a_maximum_only_form_sent_twice_in_one_batch_is_counted_once():
    snapshot = auction(standings=(Standing(1, 12_000, 1),))
    decision = run(snapshot, bid(1, maximum=30_000, key="k" * 20), bid(1, maximum=30_000, key="k" * 20))
    first, again = decision.answers
    assert first.accepted and again.accepted and again.replay
    assert again.message == "Your maximum of ₩30,000 is in (sent twice, counted once)."
    assert decision.bids == ()
    (standing,) = decision.standings
    assert (standing.amount, standing.maximum) == (12_000, 30_000)


# ---------------------------------------------------------------- properties

grid = st.integers(min_value=0, max_value=80).map(lambda k: START + k * INC)


@FAST
@given(units=st.integers(1, 4), amounts=st.lists(grid, min_size=1, max_size=12, unique=True))
def test_the_n_highest_bids_win_each_at_its_own_amount(units, amounts):
    decision = run(auction(units=units), *(bid(m, a) for m, a in enumerate(amounts, start=1)))
    expected = sorted(((m, a) for m, a in enumerate(amounts, start=1)), key=lambda x: -x[1])[:units]
    assert decision.answers[-1].winners == tuple(expected)
    assert {(s.member_id, s.amount) for s in decision.standings} >= set(expected)


@FAST
@given(units=st.integers(1, 5), bidders=st.integers(1, 5), amount=grid, data=st.data())
def test_equal_amounts_go_to_the_earlier_bid(units, bidders, amount, data):
    order = data.draw(st.permutations(range(1, bidders + 1)))
    decision = run(auction(units=units), *(bid(m, amount) for m in order))
    winners = decision.answers[-1].winners
    assert winners == tuple((m, amount) for m in order[:units])
    for answer in decision.answers[units:]:  # every unit taken at that amount: an equal bid is too low
        assert not answer.accepted and answer.message == f"Bid at least ₩{amount + INC:,}."


standing_rows = st.lists(st.tuples(st.integers(1, 30), grid), max_size=10, unique_by=lambda x: x[0])


@FAST
@given(units=st.integers(1, 4), rows=standing_rows, data=st.data())
def test_the_board_ranks_ties_by_sequence_and_names_the_minimum_next_bid(units, rows, data):
    sequences = data.draw(st.permutations(range(1, len(rows) + 1)))
    standings = tuple(Standing(m, a, s) for (m, a), s in zip(rows, sequences, strict=True))
    snapshot = auction(units=units, standings=standings)
    shown = run(snapshot, bid(99, 1, key=None), at=END).answers[0]  # refused: only where things stand
    top = sorted(standings, key=lambda s: (-s.amount, s.sequence))[:units]
    assert shown.winners == tuple((s.member_id, s.amount) for s in top)
    minimum = START if len(top) < units else top[-1].amount + INC
    assert shown.minimum == minimum
    assert not run(snapshot, bid(50, minimum - 1)).answers[0].accepted
    assert run(snapshot, bid(50, minimum)).answers[0].accepted


@FAST
@given(offset=st.integers(-30, 600))
@example(offset=0)
@example(offset=1)
@example(offset=60)
@example(offset=61)
def test_a_bid_in_the_last_minute_pushes_the_end_back(offset):
    decision = run(auction(), bid(1, 20_000), at=END - timedelta(seconds=offset))
    if offset <= 0:
        assert not decision.accepted and decision.answers[0].message == "This auction has ended."
    elif offset <= EXTEND.total_seconds():
        assert decision.extended and decision.ends_at == END + EXTEND == decision.answers[0].ends_at
    else:
        assert decision.accepted and not decision.extended and decision.ends_at == END


maxima = st.lists(st.integers(START, START + 200_000), min_size=2, max_size=4)


@FAST
@given(tops=maxima, cuts=st.lists(st.integers(0, 4), max_size=3))
def test_a_proxy_war_ends_one_step_above_what_the_loser_can_reach(tops, cuts):
    requests = [(bid(m, maximum=top), NOW) for m, top in enumerate(tops, start=1)]
    answers, final = in_batches(auction(), requests, cuts)
    assert answers[0].accepted
    (winner,) = sorted(final.standings, key=lambda s: (-s.amount, s.sequence))[:1]
    highest = max(tops)
    losers = [top for m, top in enumerate(tops, start=1) if m != winner.member_id]
    rival = max(losers)
    assert tops[winner.member_id - 1] == highest  # the highest maximum wins
    assert winner.amount <= highest  # never above the winner's maximum
    assert winner.amount <= rival + INC  # at most the loser's maximum plus the increment
    assert winner.amount + INC > rival  # and beyond what the loser could still bid


requests_strategy = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.one_of(st.none(), grid, st.integers(START, START + 50_000)),
        st.one_of(st.none(), grid, st.integers(START, START + 50_000)),
        st.integers(0, 700),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(units=st.integers(1, 3), rows=requests_strategy, cuts=st.lists(st.integers(0, 10), max_size=4))
def test_the_outcome_does_not_depend_on_how_the_bids_are_batched(units, rows, cuts):
    rows = sorted(rows, key=lambda r: -r[3])  # in order of arrival: later, nearer the end
    requests = [(bid(m, amount, maximum), END - timedelta(seconds=left)) for m, amount, maximum, left in rows]
    whole, one = in_batches(auction(units=units), requests, [])
    split, many = in_batches(auction(units=units), requests, cuts)
    assert [(a.accepted, a.message, a.amount, a.ends_at) for a in whole] == [
        (a.accepted, a.message, a.amount, a.ends_at) for a in split
    ]
    assert standings_of(one) == standings_of(many)
    assert (one.sequence, one.ends_at) == (many.sequence, many.ends_at)
