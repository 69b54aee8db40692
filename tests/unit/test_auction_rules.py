"""Bid validity, ranking with ties, the minimum next bid, proxy bidding and the soft close."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auctions.rules import (
    AUCTION_STATUS,
    AuctionStatus,
    Bid,
    BidRefused,
    check_bid,
    extended_end,
    minimum_next_bid,
    parse_amount,
    ranking,
    resolve_proxies,
    winners,
)
from app.core.states import IllegalTransition
from tests.helpers.clock import END, NOW


def bids(*rows: tuple[int, int]) -> list[Bid]:
    return [Bid(member, amount, seq) for seq, (member, amount) in enumerate(rows, start=1)]


def test_ranking_highest_first_ties_to_the_earlier_bid_one_bid_per_member():
    ranked = ranking(bids((1, 10_000), (2, 12_000), (3, 12_000), (1, 13_000)))
    assert [(b.member_id, b.amount) for b in ranked] == [(1, 13_000), (2, 12_000), (3, 12_000)]
    assert [b.member_id for b in winners(ranked, 2)] == [1, 2]  # 3 bid the same as 2, later


def test_minimum_next_bid_is_the_start_price_until_every_unit_has_a_bid():
    assert minimum_next_bid([], 2, 10_000, 500) == 10_000
    assert minimum_next_bid(bids((1, 11_000)), 2, 10_000, 500) == 10_000
    assert minimum_next_bid(bids((1, 11_000), (2, 10_000)), 2, 10_000, 500) == 10_500
    assert minimum_next_bid(bids((1, 11_000), (2, 10_000), (3, 10_500)), 2, 10_000, 500) == 11_000


def check(amount: int, member: int = 9, existing: list[Bid] | None = None, **kw) -> None:
    base = {
        "amount": amount,
        "member_id": member,
        "seller_id": 100,
        "status": AuctionStatus.LIVE,
        "now": NOW,
        "ends_at": END,
        "bids": existing or [],
        "units": 2,
        "start_price": 10_000,
        "increment": 500,
    }
    check_bid(**(base | kw))


def test_valid_bids_and_each_refusal_says_why():
    check(10_000)
    standing = bids((1, 11_000), (2, 10_000))
    check(10_500, existing=standing)
    cases = [
        ({"amount": 10_400, "existing": standing}, "at least ₩10,500"),
        ({"amount": 9_999}, "at least ₩10,000"),
        ({"amount": 20_000, "member": 100}, "own product"),
        ({"amount": 20_000, "status": AuctionStatus.CLOSED}, "not taking bids"),
        ({"amount": 20_000, "now": END}, "has ended"),
        ({"amount": 11_000, "member": 1, "existing": standing}, "must be higher"),
    ]
    for kw, text in cases:
        with pytest.raises(BidRefused) as refused:
            check(**kw)
        assert text in refused.value.message, kw


def test_raising_a_winning_bid_only_has_to_beat_it():
    standing = bids((1, 11_000), (2, 10_000))
    check(11_001, member=1, existing=standing)  # others leave a free unit: the start price is enough


@pytest.mark.parametrize(("raw", "amount"), [("15000", 15_000), ("15,000", 15_000), ("₩ 15,000", 15_000), (" 7 ", 7)])
def test_amounts_from_the_form(raw, amount):
    assert parse_amount(raw) == amount


@pytest.mark.parametrize("raw", ["", "abc", "12.5", "-100", "1e6", "99999999999999", "10000000001"])
def test_bad_amounts_are_refused(raw):
    with pytest.raises(BidRefused):
        parse_amount(raw)


def test_proxy_bidding_raises_just_enough_up_to_the_maximum():
    standing = bids((1, 10_000), (2, 10_500))  # two units, both taken
    assert resolve_proxies(standing, {3: 20_000}, 2, 10_000, 500) == {3: 10_500}
    assert resolve_proxies(standing, {3: 10_400}, 2, 10_000, 500) == {}  # cannot reach the minimum


def test_two_proxies_outbid_each_other_until_the_lower_maximum_is_passed():
    standing = bids((1, 10_000))  # one unit
    raised = resolve_proxies(standing, {1: 13_000, 2: 15_000}, 1, 10_000, 500)
    assert raised[2] == 13_500 and raised[1] == 13_000  # 2 wins one increment above 1's maximum
    assert [b.member_id for b in winners(bids((1, raised[1]), (2, raised[2])), 1)] == [2]


def test_soft_close_extends_only_in_the_last_seconds():
    extend = timedelta(seconds=60)
    assert extended_end(END, END - timedelta(seconds=61), extend) == END
    assert extended_end(END, END - timedelta(seconds=60), extend) == END + extend
    assert extended_end(END, END - timedelta(seconds=1), extend) == END + extend
    assert extended_end(END, END, extend) == END  # too late: the auction has ended


def test_auction_states():
    assert AUCTION_STATUS.can(AuctionStatus.LIVE, AuctionStatus.CLOSED)
    with pytest.raises(IllegalTransition):
        AUCTION_STATUS.check(AuctionStatus.CLOSED, AuctionStatus.LIVE)


def test_a_proxy_war_over_huge_amounts_settles_without_stepping_through_them():
    raised = resolve_proxies([], {1: 9_000_000_000, 2: 8_000_000_000}, 1, 1, 1)
    assert raised == {2: 8_000_000_000, 1: 8_000_000_001}


def test_a_proxy_war_stops_at_the_next_winner_up_and_continues_from_there():
    # two units: member 3 bid 20,000 by hand; proxies 1 and 2 (maximums above it) fight for the
    # other unit until their bids reach member 3's, and then both take a unit from member 3, each
    # bidding the least that beats 20,000 by the increment
    standing = bids((3, 20_000), (1, 10_000))
    raised = resolve_proxies(standing, {1: 30_000, 2: 25_000}, 2, 10_000, 1_000)
    assert raised == {2: 21_000, 1: 21_000}
    final = ranking(standing + [Bid(m, a, 10 + i) for i, (m, a) in enumerate(raised.items())])
    assert [b.member_id for b in final] == [2, 1, 3]


def test_a_proxy_that_is_already_winning_does_not_bid_against_itself():
    assert resolve_proxies(bids((1, 10_000)), {1: 50_000}, 1, 10_000, 1_000) == {}


def test_a_members_position_from_the_shared_state():
    from app.auctions.view import position

    winners_ = [(1, 15_000), (2, 12_000)]
    assert position(None, winners_, 13_000, "live", None).kind == "none"
    assert position(1, winners_, 13_000, "live", 15_000).text == "Winning at ₩15,000 (rank 1)."
    outbid = position(3, winners_, 13_000, "live", 11_000, 20_000)
    assert outbid.kind == "outbid" and outbid.text == "Outbid — bid at least ₩13,000." and outbid.maximum == 20_000
    assert position(4, winners_, 13_000, "live", None).text == "No bid yet — bid at least ₩13,000."


def test_after_the_close_a_members_position_is_their_result():
    from app.auctions.view import position
    from app.models.auctions import AuctionResult, ResultStatus

    def result(status: ResultStatus) -> AuctionResult:
        return AuctionResult(unit=1, rank=2, member_id=2, amount=12_000, status=status)

    winners_ = [(1, 15_000), (2, 12_000)]  # the top bids at the close say nothing once units pass on
    assert position(2, winners_, 0, "closed", 12_000, result=result(ResultStatus.OFFERED)).kind == "won"
    assert position(2, winners_, 0, "settled", 12_000, result=result(ResultStatus.PAID)).text.endswith("paid for it.")
    assert position(2, winners_, 0, "closed", 12_000, result=result(ResultStatus.GIVEN_UP)).kind == "given_up"
    assert position(2, winners_, 0, "closed", 12_000, result=result(ResultStatus.PASSED_OVER)).kind == "passed_over"
    assert position(3, winners_, 0, "closed", 11_000).text == "Your bid of ₩11,000 did not win a unit."
    assert position(4, winners_, 0, "closed", None).text == "You did not bid."
