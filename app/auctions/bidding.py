"""Placing bids. Bids for one auction queue in this process and are decided in batches, in their
order of arrival: one short transaction locks the auction row, loads the standing bids that can
matter (the top units + 1, the batch's members, the live proxies), decides every queued bid with
the pure rules (validity, proxy bidding, soft close), writes the bids, the standing bids, the
outbid notices and the auction's new sequence and end, and commits. Only then is each bid
acknowledged: an acknowledged bid is stored. Across processes the row lock (PostgreSQL) or the
single writer (SQLite) orders the batches."""

from __future__ import annotations

import re
import uuid
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions.rules import (
    AuctionStatus,
    Bid,
    BidRefused,
    check_bid,
    extended_end,
    minimum_next_bid,
    ranking,
    resolve_proxies,
)
from app.core.errors import DomainError
from app.core.lanes import Lanes
from app.db import Database, waiting_for_connections
from app.events.topics import Topic, publishes
from app.models.auctions import Auction, BidKind, NotificationKind, StandingBid
from app.models.auctions import Bid as BidRow
from app.models.base import utcnow
from app.models.catalog import Product
from app.models.events import OutboxEvent
from app.models.members import Member, MemberStatus
from app.notifications.service import notify_many

MAX_BATCH = 500
# One event per committed batch that accepted bids (payload: the product and how many), for the
# popular-now counters.
BIDS_PLACED = Topic.BIDS_PLACED
publishes(BIDS_PLACED)
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class BidRequest:
    auction_id: int
    member_id: int
    amount: int | None
    maximum: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class BidAnswer:
    accepted: bool
    message: str
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


@dataclass
class Decided:
    """What one batch did, for the caller to act on after the commit."""

    answers: list[BidAnswer]
    ends_at: datetime | None = None
    extended: bool = False
    accepted: int = 0


class BidService:
    def __init__(self, database: Database, extend_seconds: int, after_batch: Any = None) -> None:
        self.database = database
        self.extend = timedelta(seconds=extend_seconds)
        self.after_batch = after_batch  # called with (auction_id, Decided) after each committed batch
        self.lanes: Lanes[tuple[BidRequest, datetime], BidAnswer] = Lanes(self._run, max_batch=MAX_BATCH)

    async def place(self, request: BidRequest, now: datetime | None = None) -> BidAnswer:
        """Decide one bid; returns once it is stored (or refused). A bid whose client goes away
        is still decided: its batch may already be under way."""
        if request.key is not None and not _KEY.match(request.key):
            raise DomainError("This bid form has expired. Reload the page and bid again.")
        return await self.lanes.submit(request.auction_id, (request, now or utcnow()))

    async def _run(self, auction_id: int, items: list[tuple[BidRequest, datetime]]) -> list[BidAnswer | Exception]:
        # No connection to be had (a crowd, a database restarting): the batch waits for one.
        decided = await waiting_for_connections(
            lambda: self.decide(auction_id, items),
            patience=self.database.settings.batch_connection_patience,
            what="a bid batch",
        )
        if self.after_batch is not None and decided.accepted:
            self.after_batch(auction_id, decided)
        return list(decided.answers)

    async def decide(self, auction_id: int, requests: list[tuple[BidRequest, datetime]]) -> Decided:
        async with self.database.transaction() as db:
            return await decide_batch(db, auction_id, requests, self.extend)


async def decide_batch(
    db: AsyncSession, auction_id: int, requests: list[tuple[BidRequest, datetime]], extend: timedelta
) -> Decided:
    # Lock the auction row with a write that changes nothing (PostgreSQL: the row lock every batch
    # and the close take; SQLite: the single write lock).
    row = (
        await db.execute(
            update(Auction)
            .where(Auction.id == auction_id)
            .values(bid_count=Auction.bid_count)
            .returning(
                Auction.status,
                Auction.ends_at,
                Auction.units,
                Auction.start_price,
                Auction.increment,
                Auction.seller_id,
                Auction.bid_count,
                Auction.product_id,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    if row is None:
        return Decided([BidAnswer(False, "This auction does not exist.") for _ in requests])
    status, ends_at, units, start_price, increment, seller_id, sequence, product_id = row
    status = AuctionStatus(status)
    members = {r.member_id for r, _ in requests}
    # The bid handler does not load the member (a crowd of bids costs no query each): check here
    # that every bidder is still active.
    active = set(
        (
            await db.execute(select(Member.id).where(Member.id.in_(members), Member.status == MemberStatus.ACTIVE))
        ).scalars()
    )
    keys = [r.key for r, _ in requests if r.key]
    replays: dict[str, BidRow] = {}
    if keys:
        found = await db.execute(select(BidRow).where(BidRow.auction_id == auction_id, BidRow.key.in_(keys)))
        replays = {b.key: b for b in found.scalars() if b.key}
    top = select(StandingBid.id).where(StandingBid.auction_id == auction_id)
    top = top.order_by(StandingBid.amount.desc(), StandingBid.sequence).limit(units + 1)
    loaded = (
        await db.execute(
            select(StandingBid).where(
                StandingBid.auction_id == auction_id,
                or_(
                    StandingBid.id.in_(top.scalar_subquery()),
                    StandingBid.member_id.in_(members),
                    StandingBid.max_amount > StandingBid.amount,
                ),
            )
        )
    ).scalars()
    maximums: dict[int, int] = {}
    existing: set[int] = set()
    rows = list(loaded)
    for s in rows:
        existing.add(s.member_id)
        if s.max_amount is not None:
            maximums[s.member_id] = s.max_amount
    board = _Board((Bid(s.member_id, s.amount, s.sequence) for s in rows), units)
    standing = board.standing
    changed: dict[int, tuple[int, int]] = {}  # member → (amount, sequence) to write
    new_rows: list[dict[str, Any]] = []
    outbid: dict[int, int] = {}  # member → the sequence of the bid that pushed them out
    answers: list[BidAnswer] = []
    seen_keys: dict[str, int] = {}
    original_end = ends_at
    accepted = 0

    def place(member_id: int, amount: int, kind: BidKind, key: str | None, maximum: int | None, now: datetime) -> None:
        nonlocal sequence
        sequence += 1
        board.set(Bid(member_id, amount, sequence))
        changed[member_id] = (amount, sequence)
        new_rows.append(
            {
                "auction_id": auction_id,
                "member_id": member_id,
                "amount": amount,
                "max_amount": maximum,
                "kind": kind.value,
                "sequence": sequence,
                "key": key,
                "created_at": now,
            }
        )

    for request, now in requests:
        if request.member_id not in active:
            answers.append(BidAnswer(False, "Please sign in to bid.", signed_out=True))
            continue
        if request.key and (request.key in replays or request.key in seen_keys):
            answers.append(_replay(request, replays.get(request.key), seen_keys.get(request.key), ends_at))
            continue
        try:
            amount, maximum = _amounts(request, board, start_price, increment)
            if amount is not None:
                check_bid(
                    amount=amount,
                    member_id=request.member_id,
                    seller_id=seller_id,
                    status=status,
                    now=now,
                    ends_at=ends_at,
                    bids=board.around(request.member_id),
                    units=units,
                    start_price=start_price,
                    increment=increment,
                )
            elif request.member_id == seller_id:
                raise BidRefused("You cannot bid on your own product.")
            elif status is not AuctionStatus.LIVE or now >= ends_at:
                raise BidRefused("This auction is not taking bids.")
        except BidRefused as refused:
            answers.append(BidAnswer(False, refused.message, ends_at=ends_at))
            continue
        before = board.winners()
        rows_before = len(new_rows)
        if maximum is not None:
            maximums[request.member_id] = maximum
        elif request.member_id in maximums and amount is not None and amount > maximums[request.member_id]:
            del maximums[request.member_id]  # a manual bid above the old maximum replaces it
        if amount is not None:
            place(request.member_id, amount, BidKind.MANUAL, request.key, maximum, now)
        else:
            changed.setdefault(
                request.member_id, (standing[request.member_id].amount, standing[request.member_id].sequence)
            )
        if request.key:
            seen_keys[request.key] = request.member_id
        if maximums:
            proxies = board.with_members(maximums)
            for member_id, raised in resolve_proxies(proxies, maximums, units, start_price, increment).items():
                place(member_id, raised, BidKind.PROXY, None, maximums.get(member_id), now)
        if len(new_rows) > rows_before:  # a bid was placed (not only a maximum raised)
            ends_at = extended_end(ends_at, now, extend)
        after = board.winners()
        for member_id in before - after:
            outbid[member_id] = sequence
        for member_id in after:
            outbid.pop(member_id, None)
        accepted += 1
        mine = standing[request.member_id]
        if amount is None:
            message = f"Your maximum is now ₩{maximum:,}; your bid stays at ₩{mine.amount:,}."
        elif mine.amount > amount:
            message = f"Your bid of ₩{amount:,} is in; proxy bidding raised it to ₩{mine.amount:,}."
        else:
            message = f"Your bid of ₩{amount:,} is in."
        answers.append(
            BidAnswer(True, message, amount=mine.amount, maximum=maximums.get(request.member_id), ends_at=ends_at)
        )

    answers = _where_they_stand(answers, requests, board, maximums, start_price, increment, status)
    if not accepted:
        return Decided(answers)
    if new_rows:
        await db.execute(insert(BidRow.__table__), new_rows)
    stamp = requests[-1][1]
    fresh = [
        {
            "auction_id": auction_id,
            "member_id": m,
            "amount": a,
            "max_amount": maximums.get(m),
            "sequence": s,
            "updated_at": stamp,
        }
        for m, (a, s) in changed.items()
        if m not in existing
    ]
    if fresh:
        await db.execute(insert(StandingBid.__table__), fresh)
    raised = [
        {"a_id": auction_id, "m_id": m, "b_amount": a, "b_max": maximums.get(m), "b_seq": s, "b_at": stamp}
        for m, (a, s) in changed.items()
        if m in existing
    ]
    if raised:
        table = StandingBid.__table__
        await db.execute(
            update(table)
            .where(table.c.auction_id == bindparam("a_id"), table.c.member_id == bindparam("m_id"))
            .values(
                amount=bindparam("b_amount"),
                max_amount=bindparam("b_max"),
                sequence=bindparam("b_seq"),
                updated_at=bindparam("b_at"),
            ),
            raised,
        )
    extended = ends_at != original_end
    move = (
        update(Auction)
        .where(Auction.id == auction_id)
        .values(
            bid_count=sequence,
            ends_at=ends_at,
            **({"extensions": Auction.extensions + 1} if extended else {}),
        )
        .execution_options(synchronize_session=False)
    )
    event = _bids_placed(auction_id, product_id, accepted)
    if db.get_bind().dialect.name == "postgresql":
        # no extra round trip: the outbox row rides on the auction's UPDATE as a data-modifying CTE
        await db.execute(move.add_cte(event.cte("bids_placed_event")))
    else:
        await db.execute(move)
        await db.execute(event)
    if outbid:
        name = await db.scalar(select(Product.name).where(Product.id == product_id))
        await notify_many(
            db,
            [
                {
                    "member_id": member_id,
                    "kind": NotificationKind.OUTBID,
                    "text": f"You were outbid on {name}. Bid again to win it.",
                    "link": f"/auctions/{auction_id}",
                    "dedupe_key": f"outbid:{auction_id}:{by}",
                }
                for member_id, by in outbid.items()
            ],
        )
    return Decided(answers, ends_at=ends_at, extended=extended, accepted=accepted)


def _bids_placed(auction_id: int, product_id: int, accepted: int) -> Any:
    """The batch's outbox row as a Core INSERT (the batch writes with Core, not the unit of work)."""
    return insert(OutboxEvent.__table__).values(
        id=uuid.uuid4().hex,
        topic=BIDS_PLACED,
        aggregate_type="auction",
        aggregate_id=auction_id,
        payload={"product_id": product_id, "bids": accepted},
        publish_attempts=0,
        created_at=utcnow(),
    )


def _where_they_stand(
    answers: list[BidAnswer],
    requests: list[tuple[BidRequest, datetime]],
    board: _Board,
    maximums: dict[int, int],
    start_price: int,
    increment: int,
    status: AuctionStatus,
) -> list[BidAnswer]:
    top = board.top[: board.units]
    shared = {
        "winners": tuple((b.member_id, b.amount) for b in top),
        "minimum": minimum_next_bid(top, board.units, start_price, increment),
        "status": status.value,
    }
    return [
        replace(
            answer,
            **shared,
            standing=board.standing[r.member_id].amount if r.member_id in board.standing else None,
            maximum=maximums.get(r.member_id),
        )
        for answer, (r, _) in zip(answers, requests, strict=True)
    ]


class _Board:
    """The standing bids a batch knows, with the top units + 1 kept in rank order. Bids only
    rise, so a bid below the top units + 1 can only come back into it by bidding again: these are
    all the bids that decide validity, the minimum and the winners."""

    def __init__(self, bids: Iterable[Bid], units: int) -> None:
        self.units = units
        self.standing: dict[int, Bid] = {b.member_id: b for b in bids}
        self.top: list[Bid] = ranking(self.standing.values())[: units + 1]

    def set(self, bid: Bid) -> None:
        old = self.standing.get(bid.member_id)
        self.standing[bid.member_id] = bid
        if old is not None and old in self.top:
            self.top.remove(old)
        insort(self.top, bid, key=_rank)
        del self.top[self.units + 1 :]

    def winners(self) -> set[int]:
        return {b.member_id for b in self.top[: self.units]}

    def around(self, member_id: int) -> list[Bid]:
        """The top bids and the member's own."""
        mine = self.standing.get(member_id)
        return self.top if mine is None or mine in self.top else [*self.top, mine]

    def with_members(self, member_ids: Iterable[int]) -> list[Bid]:
        extra = [self.standing[m] for m in member_ids if m in self.standing]
        return [*self.top, *(b for b in extra if b not in self.top)]


def _rank(bid: Bid) -> tuple[int, int]:
    return (-bid.amount, bid.sequence)


def _amounts(request: BidRequest, board: _Board, start_price: int, increment: int) -> tuple[int | None, int | None]:
    """The amount to bid now and the proxy maximum, from what the member typed. With only a
    maximum, the bid is the least that wins a unit (nothing, when already winning)."""
    amount, maximum = request.amount, request.maximum
    if amount is None and maximum is None:
        raise BidRefused("Enter a bid, or a maximum for proxy bidding.")
    if amount is not None and maximum is not None and maximum < amount:
        raise BidRefused("Your maximum must be at least your bid.")
    if amount is None:
        assert maximum is not None
        mine = board.standing.get(request.member_id)
        if mine is not None and request.member_id in board.winners():
            if maximum <= mine.amount:
                raise BidRefused(f"Your bid stands at ₩{mine.amount:,}; a maximum must be higher.")
            return None, maximum
        others = [b for b in board.top if b.member_id != request.member_id]
        needed = minimum_next_bid(others, board.units, start_price, increment)
        if mine is not None and needed <= mine.amount:
            needed = mine.amount + increment
        if needed > maximum:
            raise BidRefused(f"Bid at least ₩{needed:,}; your maximum is below that.")
        amount = needed
    return amount, maximum


def _replay(request: BidRequest, stored: BidRow | None, owner: int | None, ends_at: datetime) -> BidAnswer:
    member = stored.member_id if stored is not None else owner
    if member != request.member_id:
        return BidAnswer(False, "This bid form belongs to another member's page. Reload the page.", ends_at=ends_at)
    amount = stored.amount if stored is not None else request.amount
    return BidAnswer(
        True, f"Your bid of ₩{amount:,} is in (sent twice, counted once).", amount=amount, replay=True, ends_at=ends_at
    )
