"""Auctions: one per product, its bids (every bid ever placed, append-only), the standing bid of
each member (one per member, raised in place), the results of the close (one row per unit offered,
in rank order) and the members' in-app notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.auctions.rules import AuctionStatus
from app.models.base import Base, StatusHistory, TimestampMixin, Won, positive


class Auction(TimestampMixin, Base):
    __tablename__ = "auctions"
    __table_args__ = (
        positive("units", ">= 1"),
        positive("start_price"),
        positive("increment"),
        Index("ix_auctions_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    units: Mapped[int]
    start_price: Mapped[Won]
    increment: Mapped[Won]
    duration_seconds: Mapped[int]
    status: Mapped[AuctionStatus]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    # Bids stored so far; also the sequence the next bids take (ties go to the lower sequence).
    bid_count: Mapped[int] = mapped_column(default=0)
    extensions: Mapped[int] = mapped_column(default=0)


class AuctionChange(StatusHistory, Base):
    __tablename__ = "auction_changes"

    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), index=True)
    from_status: Mapped[AuctionStatus | None]
    to_status: Mapped[AuctionStatus]


class BidKind(StrEnum):
    MANUAL = "manual"  # placed by the member
    PROXY = "proxy"  # placed for the member by proxy bidding, up to their maximum


class Bid(TimestampMixin, Base):
    """Every bid, as stored before it was acknowledged. ``key`` makes a replayed form harmless."""

    __tablename__ = "bids"
    __table_args__ = (
        UniqueConstraint("auction_id", "sequence", name="uq_bids_auction_id_sequence"),
        UniqueConstraint("auction_id", "key", name="uq_bids_auction_id_key"),
        Index("ix_bids_member_id_id", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[Won]
    max_amount: Mapped[Won | None]
    kind: Mapped[BidKind] = mapped_column(default=BidKind.MANUAL)
    sequence: Mapped[int]
    key: Mapped[str | None] = mapped_column(String(64))


class StandingBid(Base):
    """The member's current bid in an auction (their highest), and their proxy maximum. The
    ranking is ``amount`` descending, then ``sequence`` ascending (the earlier bid wins a tie)."""

    __tablename__ = "standing_bids"
    __table_args__ = (
        UniqueConstraint("auction_id", "member_id"),
        Index("ix_standing_bids_rank", "auction_id", "amount", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[Won]
    max_amount: Mapped[Won | None]
    sequence: Mapped[int]
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id"))
    updated_at: Mapped[datetime]


class ResultStatus(StrEnum):
    OFFERED = "offered"  # the unit is offered at the bid; the order waits for payment
    PAID = "paid"
    GIVEN_UP = "given_up"
    PASSED_OVER = "passed_over"  # not paid in time (or the payment failed)
    UNSOLD = "unsold"  # no bidder was left to offer the unit to


class AuctionResult(TimestampMixin, Base):
    __tablename__ = "auction_results"
    __table_args__ = (
        UniqueConstraint("auction_id", "member_id"),
        UniqueConstraint("order_id"),
        Index("ix_auction_results_auction_id_rank", "auction_id", "rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"))
    # Which of the auction's units this row is about (1..units); an offer passed on keeps its unit.
    unit: Mapped[int]
    rank: Mapped[int | None]  # the bidder's rank at the close
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[Won | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[ResultStatus]
    updated_at: Mapped[datetime]


class NotificationKind(StrEnum):
    OUTBID = "outbid"
    WON = "won"
    OFFERED = "offered"
    DEADLINE = "deadline"
    DRAW_WON = "draw_won"  # a draw's winner, with a purchase right to pay for
    DRAW_OFFERED = "draw_offered"  # a unit a draw's winner did not pay for, offered to the next entry
    NOT_DRAWN = "not_drawn"


class Notification(TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # one notice per subject: a redelivered event or a second sweep adds nothing
        UniqueConstraint("member_id", "dedupe_key"),
        Index("ix_notifications_member_id_read_at", "member_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[NotificationKind]
    text: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(200))
    dedupe_key: Mapped[str] = mapped_column(String(100))
    read_at: Mapped[datetime | None]
