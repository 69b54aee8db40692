"""Pure auction rules: the auction state table, bid amounts from a form, the ranking of a
multi-unit auction (N units: the N highest bids win, each at its own amount; equal amounts go to
the earlier bid), the minimum next bid, bid validity, proxy bidding, the soft close, and the
decision of a batch of bids over a snapshot of the auction (``decide``). No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

# The ranking (ranking.py) and proxy bidding (proxies.py) are re-exported here, with the other rules.
from app.auctions.amounts import MAX_BID as MAX_BID
from app.auctions.amounts import BidRefused as BidRefused
from app.auctions.amounts import parse_amount as parse_amount
from app.auctions.amounts import won as won
from app.auctions.proxies import resolve_proxies as resolve_proxies
from app.auctions.ranking import Bid as Bid
from app.auctions.ranking import Board
from app.auctions.ranking import minimum_next_bid as minimum_next_bid
from app.auctions.ranking import ranking as ranking
from app.auctions.ranking import winners as winners
from app.core.generations import session_current
from app.core.i18n import Msg
from app.core.states import StateMachine


class AuctionStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    CLOSED = "closed"
    SETTLED = "settled"


A = AuctionStatus
AUCTION_STATUS = StateMachine[AuctionStatus](
    "auction",
    {A.SCHEDULED: {A.LIVE}, A.LIVE: {A.CLOSED}, A.CLOSED: {A.SETTLED}, A.SETTLED: set()},
)


def check_bid(
    *,
    amount: int,
    member_id: int,
    seller_id: int,
    status: AuctionStatus,
    now: datetime,
    ends_at: datetime,
    bids: Iterable[Bid],
    units: int,
    start_price: int,
    increment: int,
) -> None:
    """Raise ``BidRefused`` with a clear sentence, or return when the bid is valid."""
    if member_id == seller_id:
        raise BidRefused(Msg("You cannot bid on your own product."))
    if status is not AuctionStatus.LIVE or now >= ends_at:
        raise BidRefused(
            Msg("This auction is not taking bids.")
            if status is not AuctionStatus.LIVE
            else Msg("This auction has ended.")
        )
    ranked = ranking(bids)
    mine = next((b for b in ranked if b.member_id == member_id), None)
    if mine is not None and amount <= mine.amount:
        raise BidRefused(
            Msg(
                "Your bid stands at %(amount)s; a new bid must be higher.",
                amount=won(mine.amount),
            )
        )
    others = [b for b in ranked if b.member_id != member_id]
    needed = minimum_next_bid(others, units, start_price, increment)
    if amount < needed:
        raise BidRefused(Msg("Bid at least %(amount)s.", amount=won(needed)))


def extended_end(ends_at: datetime, bid_at: datetime, extend: timedelta) -> datetime:
    """Soft close: a bid in the last ``extend`` before the end pushes the end back by ``extend``."""
    if bid_at < ends_at and ends_at - bid_at <= extend:
        return ends_at + extend
    return ends_at


# ---------------------------------------------------------------- a batch of bids


@dataclass(frozen=True)
class BidRequest:
    auction_id: int
    member_id: int
    amount: int | None
    maximum: int | None = None
    key: str | None = None
    generation: int | None = None  # the session generation the bid was signed in with (None: not checked)


@dataclass(frozen=True)
class BidAnswer:
    accepted: bool
    message: Msg
    amount: int | None = None
    maximum: int | None = None
    replay: bool = False
    ends_at: datetime | None = None
    # Where things stand once the bid's batch is decided, for the bidder's answer.
    winners: tuple[tuple[int, int], ...] = ()
    minimum: int | None = None
    status: str | None = None
    standing: int | None = None  # the member's standing bid
    signed_out: bool = False  # the member is no longer active: their session must end


@dataclass(frozen=True)
class Standing:
    """A member's standing bid, as the batch found it."""

    member_id: int
    amount: int
    sequence: int
    maximum: int | None = None


@dataclass(frozen=True)
class KeyedBid:
    """A stored bid that carries one of the batch's form keys."""

    member_id: int
    amount: int


@dataclass(frozen=True)
class AuctionSnapshot:
    """What a batch of bids is decided on: the auction, its standing bids that can matter (the
    top units + 1, the batch's members, the live proxies) and what it knows of the bidders."""

    status: AuctionStatus
    ends_at: datetime
    units: int
    start_price: int
    increment: int
    seller_id: int
    sequence: int  # the sequence of the auction's last bid
    extend: timedelta  # the soft close
    standings: tuple[Standing, ...] = ()
    active: frozenset[int] = frozenset()  # the batch's bidders who are still active members
    generations: Mapping[int, int] = field(default_factory=dict)  # bidder → current session generation
    keyed: Mapping[str, KeyedBid] | None = None  # stored bids by form key


@dataclass(frozen=True)
class NewBid:
    member_id: int
    amount: int
    maximum: int | None
    proxy: bool  # placed by proxy bidding (else by the member)
    sequence: int
    key: str | None
    at: datetime


@dataclass(frozen=True)
class StandingWrite:
    """A member's standing bid after the batch: inserted, or updated when ``exists``."""

    member_id: int
    amount: int
    maximum: int | None
    sequence: int
    exists: bool
    at: datetime


@dataclass(frozen=True)
class BidDecision:
    """One answer per request, in order, and the writes that make the batch happen (nothing to
    write when no bid was accepted)."""

    answers: tuple[BidAnswer, ...]
    accepted: int
    sequence: int
    ends_at: datetime
    extended: bool = False
    bids: tuple[NewBid, ...] = ()
    standings: tuple[StandingWrite, ...] = ()
    outbid: tuple[tuple[int, int], ...] = ()  # (member, the sequence of the bid that pushed them out)


def decide(snapshot: AuctionSnapshot, requests: Sequence[tuple[BidRequest, datetime]]) -> BidDecision:
    """Decide every bid of a batch in order of arrival, each at its own time: a signed-out member
    is refused, a form key already used gets its first answer, then validity, the bid, proxy
    bidding and the soft close, each bid seeing the ones before it."""
    batch = _Batch(snapshot)
    answers = [batch.take(request, now) for request, now in requests]
    return batch.decision(answers, requests)


class _Batch:
    def __init__(self, snapshot: AuctionSnapshot) -> None:
        self.s = snapshot
        self.board = Board((Bid(b.member_id, b.amount, b.sequence) for b in snapshot.standings), snapshot.units)
        self.maximums = {b.member_id: b.maximum for b in snapshot.standings if b.maximum is not None}
        self.existing = {b.member_id for b in snapshot.standings}
        self.keyed: Mapping[str, KeyedBid] = snapshot.keyed or {}
        self.sequence = snapshot.sequence
        self.ends_at = snapshot.ends_at
        self.changed: dict[int, tuple[int, int]] = {}  # member → (amount, sequence) to write
        self.bids: list[NewBid] = []
        self.outbid: dict[int, int] = {}
        self.seen_keys: dict[str, int] = {}
        self.accepted = 0

    def take(self, request: BidRequest, now: datetime) -> BidAnswer:
        if request.member_id not in self.s.active or not session_current(
            self.s.generations, request.member_id, request.generation
        ):
            return BidAnswer(False, Msg("Please sign in to bid."), signed_out=True)
        if request.key and (request.key in self.keyed or request.key in self.seen_keys):
            return _replay(request, self.keyed.get(request.key), self.seen_keys.get(request.key), self.ends_at)
        try:
            amount, maximum = self._valid(request, now)
        except BidRefused as refused:
            return BidAnswer(False, refused.message, ends_at=self.ends_at)
        return self._accept(request, amount, maximum, now)

    def _valid(self, request: BidRequest, now: datetime) -> tuple[int | None, int | None]:
        s = self.s
        amount, maximum = _amounts(request, self.board, s.start_price, s.increment)
        if amount is not None:
            check_bid(
                amount=amount,
                member_id=request.member_id,
                seller_id=s.seller_id,
                status=s.status,
                now=now,
                ends_at=self.ends_at,
                bids=self.board.around(request.member_id),
                units=s.units,
                start_price=s.start_price,
                increment=s.increment,
            )
        elif request.member_id == s.seller_id:
            raise BidRefused(Msg("You cannot bid on your own product."))
        elif s.status is not AuctionStatus.LIVE or now >= self.ends_at:
            raise BidRefused(Msg("This auction is not taking bids."))
        return amount, maximum

    def _accept(self, request: BidRequest, amount: int | None, maximum: int | None, now: datetime) -> BidAnswer:
        s, member, maximums = self.s, request.member_id, self.maximums
        before = self.board.winners()
        bids_before = len(self.bids)
        if maximum is not None:
            maximums[member] = maximum
        elif member in maximums and amount is not None and amount > maximums[member]:
            del maximums[member]  # a manual bid above the old maximum replaces it
        if amount is not None:
            self._place(member, amount, False, request.key, maximum, now)
        else:
            mine = self.board.standing[member]
            self.changed.setdefault(member, (mine.amount, mine.sequence))
        if request.key:
            self.seen_keys[request.key] = member
        if maximums:
            proxies = self.board.with_members(maximums)
            for member_id, raised in resolve_proxies(proxies, maximums, s.units, s.start_price, s.increment).items():
                self._place(member_id, raised, True, None, maximums.get(member_id), now)
        if len(self.bids) > bids_before:  # a bid was placed (not only a maximum raised)
            self.ends_at = extended_end(self.ends_at, now, s.extend)
        after = self.board.winners()
        for member_id in before - after:
            self.outbid[member_id] = self.sequence
        for member_id in after:
            self.outbid.pop(member_id, None)
        self.accepted += 1
        mine = self.board.standing[member]
        if amount is None:
            message = Msg(
                "Your maximum is now %(maximum)s; your bid stays at %(amount)s.",
                maximum=won(maximum or 0),
                amount=won(mine.amount),
            )
        elif mine.amount > amount:
            message = Msg(
                "Your bid of %(amount)s is in; proxy bidding raised it to %(raised)s.",
                amount=won(amount),
                raised=won(mine.amount),
            )
        else:
            message = Msg("Your bid of %(amount)s is in.", amount=won(amount))
        return BidAnswer(True, message, amount=mine.amount, maximum=maximums.get(member), ends_at=self.ends_at)

    def _place(self, member: int, amount: int, proxy: bool, key: str | None, maximum: int | None, at: datetime) -> None:
        self.sequence += 1
        self.board.put(Bid(member, amount, self.sequence))
        self.changed[member] = (amount, self.sequence)
        self.bids.append(NewBid(member, amount, maximum, proxy, self.sequence, key, at))

    def decision(self, answers: list[BidAnswer], requests: Sequence[tuple[BidRequest, datetime]]) -> BidDecision:
        s = self.s
        answers = _where_they_stand(answers, requests, self.board, self.maximums, s.start_price, s.increment, s.status)
        if not self.accepted:
            return BidDecision(tuple(answers), accepted=0, sequence=s.sequence, ends_at=s.ends_at)
        stamp = requests[-1][1]  # every standing bid the batch changed carries the batch's time
        standings = tuple(
            StandingWrite(m, amount, self.maximums.get(m), seq, m in self.existing, stamp)
            for m, (amount, seq) in self.changed.items()
        )
        return BidDecision(
            tuple(answers),
            self.accepted,
            self.sequence,
            self.ends_at,
            extended=self.ends_at != s.ends_at,
            bids=tuple(self.bids),
            standings=standings,
            outbid=tuple(self.outbid.items()),
        )


def _where_they_stand(
    answers: list[BidAnswer],
    requests: Sequence[tuple[BidRequest, datetime]],
    board: Board,
    maximums: Mapping[int, int],
    start_price: int,
    increment: int,
    status: AuctionStatus,
) -> list[BidAnswer]:
    top = board.top[: board.units]
    ranked = tuple((b.member_id, b.amount) for b in top)
    minimum = minimum_next_bid(top, board.units, start_price, increment)
    return [
        replace(
            answer,
            winners=ranked,
            minimum=minimum,
            status=status.value,
            standing=board.standing[r.member_id].amount if r.member_id in board.standing else None,
            maximum=maximums.get(r.member_id),
        )
        for answer, (r, _) in zip(answers, requests, strict=True)
    ]


def _amounts(request: BidRequest, board: Board, start_price: int, increment: int) -> tuple[int | None, int | None]:
    """The amount to bid now and the proxy maximum, from what the member typed. With only a
    maximum, the bid is the least that wins a unit (nothing, when already winning)."""
    amount, maximum = request.amount, request.maximum
    if amount is None and maximum is None:
        raise BidRefused(Msg("Enter a bid, or a maximum for proxy bidding."))
    if amount is not None and maximum is not None and maximum < amount:
        raise BidRefused(Msg("Your maximum must be at least your bid."))
    if amount is None:
        assert maximum is not None
        mine = board.standing.get(request.member_id)
        if mine is not None and request.member_id in board.winners():
            if maximum <= mine.amount:
                raise BidRefused(
                    Msg("Your bid stands at %(amount)s; a maximum must be higher.", amount=won(mine.amount))
                )
            return None, maximum
        others = [b for b in board.top if b.member_id != request.member_id]
        needed = minimum_next_bid(others, board.units, start_price, increment)
        if mine is not None and needed <= mine.amount:
            needed = mine.amount + increment
        if needed > maximum:
            raise BidRefused(Msg("Bid at least %(amount)s; your maximum is below that.", amount=won(needed)))
        amount = needed
    return amount, maximum


def _replay(request: BidRequest, stored: KeyedBid | None, owner: int | None, ends_at: datetime) -> BidAnswer:
    member = stored.member_id if stored is not None else owner
    if member != request.member_id:
        return BidAnswer(
            False, Msg("This bid form belongs to another member's page. Reload the page."), ends_at=ends_at
        )
    amount = stored.amount if stored is not None else request.amount
    if amount is None:  # a maximum only, sent twice in one batch
        message = Msg(
            "Your maximum of %(maximum)s is in (sent twice, counted once).", maximum=won(request.maximum or 0)
        )
        return BidAnswer(True, message, maximum=request.maximum, replay=True, ends_at=ends_at)
    return BidAnswer(
        True,
        Msg("Your bid of %(amount)s is in (sent twice, counted once).", amount=won(amount)),
        amount=amount,
        replay=True,
        ends_at=ends_at,
    )
