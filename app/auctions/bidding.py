"""Placing bids. Bids for one auction queue in this process and are decided in batches, in their
order of arrival: one short transaction locks the auction row, loads the standing bids that can
matter (the top units + 1, the batch's members, the live proxies), decides every queued bid with
the pure rules (validity, proxy bidding, soft close), writes the bids, the standing bids, the
outbid notices and the auction's new sequence and end, and commits. Only then is each bid
acknowledged: an acknowledged bid is stored. Across processes the row lock (PostgreSQL) or the
single writer (SQLite) orders the batches."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, Update, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import active_generations_query
from app.auctions.rules import (
    AuctionSnapshot,
    AuctionStatus,
    BidAnswer,
    BidDecision,
    BidRequest,
    KeyedBid,
    NewBid,
    Standing,
    StandingWrite,
    decide,
)
from app.core.errors import DomainError
from app.core.i18n import DEFAULT_LANGUAGE, Msg, _, using
from app.core.lanes import Lanes
from app.db import Database, any_of, waiting_for_connections
from app.events.topics import Topic, publishes
from app.models.auctions import Auction, BidKind, NotificationKind, StandingBid
from app.models.auctions import Bid as BidRow
from app.models.base import Base, utcnow
from app.models.catalog import Product
from app.models.events import OutboxEvent
from app.models.members import Member
from app.notifications.service import notify_many
from app.observability.metrics import batch_observer, count_bid, count_extension

__all__ = ["BidAnswer", "BidRequest", "BidService", "Decided", "decide_batch"]

MAX_BATCH = 500
# One event per committed batch that accepted bids (payload: the product and how many), for the
# popular-now counters.
publishes(Topic.BIDS_PLACED)
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


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
        self.lanes: Lanes[tuple[BidRequest, datetime], BidAnswer] = Lanes(
            self._run, max_batch=MAX_BATCH, observe=batch_observer("bid")
        )

    async def place(self, request: BidRequest, now: datetime | None = None) -> BidAnswer:
        """Decide one bid; returns once it is stored (or refused). A bid whose client goes away
        is still decided: its batch may already be under way."""
        if request.key is not None and not _KEY.match(request.key):
            count_bid("invalid")
            raise DomainError(_("This bid form has expired. Reload the page and bid again."))
        return await self.lanes.submit(request.auction_id, (request, now or utcnow()))

    async def _run(self, auction_id: int, items: list[tuple[BidRequest, datetime]]) -> list[BidAnswer | Exception]:
        # No connection to be had (a crowd, a database restarting): the batch waits for one.
        try:
            decided = await waiting_for_connections(
                lambda: self.decide(auction_id, items),
                patience=self.database.settings.batch_connection_patience,
                what="a bid batch",
            )
        except Exception:
            for _item in items:
                count_bid("error")
            raise
        for answer in decided.answers:
            count_bid(bid_outcome(answer))
        if decided.extended:
            count_extension()
        if self.after_batch is not None and decided.accepted:
            self.after_batch(auction_id, decided)
        return list(decided.answers)

    async def decide(self, auction_id: int, requests: list[tuple[BidRequest, datetime]]) -> Decided:
        async with self.database.transaction() as db:
            return await decide_batch(db, auction_id, requests, self.extend)


def bid_outcome(answer: BidAnswer) -> str:
    """How a bid's answer is counted (``smore_bids_total``)."""
    if answer.accepted:
        return "replayed" if answer.replay else "accepted"
    return "signed_out" if answer.signed_out else "refused"


async def decide_batch(
    db: AsyncSession, auction_id: int, requests: list[tuple[BidRequest, datetime]], extend: timedelta
) -> Decided:
    """Load the auction's snapshot (locking its row), decide the batch with the pure rules, write."""
    loaded = await load_snapshot(db, auction_id, requests, extend)
    if loaded is None:
        return Decided([BidAnswer(False, Msg("This auction does not exist.")) for _request in requests])
    snapshot, product_id = loaded
    decision = decide(snapshot, requests)
    if not decision.accepted:
        return Decided(list(decision.answers))
    await write_decision(db, auction_id, product_id, decision)
    return Decided(
        list(decision.answers), ends_at=decision.ends_at, extended=decision.extended, accepted=decision.accepted
    )


async def load_snapshot(
    db: AsyncSession, auction_id: int, requests: list[tuple[BidRequest, datetime]], extend: timedelta
) -> tuple[AuctionSnapshot, int] | None:
    """The auction (its row locked) and what its batch of bids is decided on, with its product's
    id; None when there is no such auction."""
    # Lock the auction row with a write that changes nothing (PostgreSQL: the row lock every batch
    # and the close take; SQLite: the single write lock).
    row = (await db.execute(_LOCK, {"auction_id": auction_id})).first()
    if row is None:
        return None
    status, ends_at, units, start_price, increment, seller_id, sequence, product_id = row
    members = {r.member_id for r, _at in requests}
    dialect = db.get_bind().dialect.name
    # The bid handler does not load the member (a crowd of bids costs no query each): check here
    # that every bidder is still active and still signed in (their session not ended since).
    generations = dict((await db.execute(_generations(dialect), {"members": list(members)})).all())
    keys = [r.key for r, _at in requests if r.key]
    keyed: dict[str, KeyedBid] = {}
    if keys:
        found = await db.execute(_keyed(dialect), {"auction_id": auction_id, "keys": keys})
        keyed = {key: KeyedBid(member_id, amount) for key, member_id, amount in found if key}
    loaded = (
        await db.execute(_standings(dialect), {"auction_id": auction_id, "top": units + 1, "members": list(members)})
    ).scalars()
    snapshot = AuctionSnapshot(
        status=AuctionStatus(status),
        ends_at=ends_at,
        units=units,
        start_price=start_price,
        increment=increment,
        seller_id=seller_id,
        sequence=sequence,
        extend=extend,
        standings=tuple(Standing(s.member_id, s.amount, s.sequence, s.max_amount) for s in loaded),
        active=frozenset(generations),
        generations=generations,
        keyed=keyed,
    )
    return snapshot, product_id


# A batch's reads are built once (per SQL dialect): building a statement costs more CPU than
# running it, and a batch of one bid pays them alone.
_LOCK = (
    update(Auction)
    .where(Auction.id == bindparam("auction_id"))
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


@functools.cache
def _generations(dialect: str) -> Select[int, int]:
    return active_generations_query(lambda column: any_of(dialect, column, "members"))


@functools.cache
def _keyed(dialect: str) -> Select[str | None, int, int]:
    """The bids already placed with one of ``keys`` (key, member, amount)."""
    return select(BidRow.key, BidRow.member_id, BidRow.amount).where(
        BidRow.auction_id == bindparam("auction_id"), any_of(dialect, BidRow.key, "keys")
    )


@functools.cache
def _standings(dialect: str) -> Select[StandingBid]:
    """The standing bids that can matter to a batch: the top ``top`` (units + 1), the batch's
    ``members``' and the live proxies."""
    top = select(StandingBid.id).where(StandingBid.auction_id == bindparam("auction_id"))
    top = top.order_by(StandingBid.amount.desc(), StandingBid.sequence).limit(bindparam("top"))
    return select(StandingBid).where(
        StandingBid.auction_id == bindparam("auction_id"),
        or_(
            StandingBid.id.in_(top.scalar_subquery()),
            any_of(dialect, StandingBid.member_id, "members"),
            StandingBid.max_amount > StandingBid.amount,
        ),
    )


async def write_decision(db: AsyncSession, auction_id: int, product_id: int, decision: BidDecision) -> None:
    """The batch's writes: its bids, the standing bids it changed, the auction's sequence and end
    with the batch's outbox event, and the outbid notices."""
    if decision.bids:
        await db.execute(_INSERT_BIDS, [_bid_row(auction_id, b) for b in decision.bids])
    fresh = [_standing_row(auction_id, s) for s in decision.standings if not s.exists]
    if fresh:
        await db.execute(_INSERT_STANDINGS, fresh)
    raised = [
        {"a_id": auction_id, "m_id": s.member_id, "b_amount": s.amount, "b_max": s.maximum, "b_seq": s.sequence}
        | {"b_at": s.at}
        for s in decision.standings
        if s.exists
    ]
    if raised:
        await db.execute(_RAISE_STANDINGS, raised)
    move = {"a_id": auction_id, "b_count": decision.sequence, "b_ends": decision.ends_at}
    event = {
        "e_id": uuid.uuid4().hex,
        "e_payload": {"product_id": product_id, "bids": decision.accepted},
        "e_at": utcnow(),
    }
    if db.get_bind().dialect.name == "postgresql":
        # no extra round trip: the outbox row rides on the auction's UPDATE as a data-modifying CTE
        await db.execute(_move_with_event(decision.extended), move | event)
    else:
        await db.execute(_move(decision.extended), move)
        await db.execute(_BIDS_PLACED, {"a_id": auction_id} | event)
    if decision.outbid:
        await _notify_outbid(db, auction_id, product_id, decision.outbid)


async def _notify_outbid(
    db: AsyncSession, auction_id: int, product_id: int, outbid: tuple[tuple[int, int], ...]
) -> None:
    name = await db.scalar(select(Product.name).where(Product.id == product_id))
    languages = await member_languages(db, [member_id for member_id, _by in outbid])
    rows = []
    for member_id, by in outbid:
        with using(languages.get(member_id) or DEFAULT_LANGUAGE):  # the notice is read in their language
            text = _("You were outbid on %(product)s. Bid again to win it.", product=name)
        rows.append(
            {
                "member_id": member_id,
                "kind": NotificationKind.OUTBID,
                "text": text,
                "link": f"/auctions/{auction_id}",
                "dedupe_key": f"outbid:{auction_id}:{by}",
            }
        )
    await notify_many(db, rows)


async def member_languages(db: AsyncSession, member_ids: list[int]) -> dict[int, str | None]:
    """Each member's language (None: not chosen), for the notices written to them."""
    if not member_ids:
        return {}
    rows = await db.execute(select(Member.id, Member.language).where(Member.id.in_(set(member_ids))))
    return {member_id: language for member_id, language in rows}


def _table(model: type[Base]) -> Table:
    """A model's table, for the batch's Core statements (it writes with Core, not the unit of work)."""
    return cast(Table, model.__table__)


def _bid_row(auction_id: int, bid: NewBid) -> dict[str, Any]:
    kind = BidKind.PROXY if bid.proxy else BidKind.MANUAL
    return {
        "auction_id": auction_id,
        "member_id": bid.member_id,
        "amount": bid.amount,
        "max_amount": bid.maximum,
        "kind": kind.value,
        "sequence": bid.sequence,
        "key": bid.key,
        "created_at": bid.at,
    }


def _standing_row(auction_id: int, standing: StandingWrite) -> dict[str, Any]:
    return {
        "auction_id": auction_id,
        "member_id": standing.member_id,
        "amount": standing.amount,
        "max_amount": standing.maximum,
        "sequence": standing.sequence,
        "updated_at": standing.at,
    }


# The batch's writes, built once: Core statements on the tables, their values as parameters
# (building a statement costs more than running it, and a batch of one bid pays it alone).
_bids, _standings_table, _auctions, _outbox = (_table(m) for m in (BidRow, StandingBid, Auction, OutboxEvent))
_INSERT_BIDS = insert(_bids)
_INSERT_STANDINGS = insert(_standings_table)
_RAISE_STANDINGS = (
    update(_standings_table)
    .where(_standings_table.c.auction_id == bindparam("a_id"), _standings_table.c.member_id == bindparam("m_id"))
    .values(
        amount=bindparam("b_amount"),
        max_amount=bindparam("b_max"),
        sequence=bindparam("b_seq"),
        updated_at=bindparam("b_at"),
    )
)
# The batch's outbox row (``a_id``, ``e_id``, ``e_payload``, ``e_at``).
_BIDS_PLACED = insert(_outbox).values(
    id=bindparam("e_id"),
    topic=Topic.BIDS_PLACED.value,
    aggregate_type="auction",
    aggregate_id=bindparam("a_id"),
    payload=bindparam("e_payload", type_=_outbox.c.payload.type),
    publish_attempts=0,
    created_at=bindparam("e_at"),
)


@functools.cache
def _move(extended: bool) -> Update:
    """The auction's new sequence and end (``a_id``, ``b_count``, ``b_ends``), and one more
    extension when the batch extended it."""
    more = {"extensions": _auctions.c.extensions + 1} if extended else {}
    return (
        update(_auctions)
        .where(_auctions.c.id == bindparam("a_id"))
        .values(bid_count=bindparam("b_count"), ends_at=bindparam("b_ends"), **more)
    )


@functools.cache
def _move_with_event(extended: bool) -> Update:
    """``_move`` with the batch's outbox row written by the same statement (PostgreSQL)."""
    return _move(extended).add_cte(_BIDS_PLACED.cte("bids_placed_event"))
