"""Auctions: one per product, its bids (every bid ever placed, append-only), the standing bid of
each member (one per member, raised in place), the results of the close (one row per unit offered,
in rank order) and the members' in-app notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.auctions.rules import AuctionStatus
from app.models.base import Base, TimestampMixin, UTCDateTime, str_enum


class Auction(TimestampMixin, Base):
    __tablename__ = "auctions"
    __table_args__ = (
        CheckConstraint("units >= 1", name="units_positive"),
        CheckConstraint("start_price > 0", name="start_price_positive"),
        CheckConstraint("increment > 0", name="increment_positive"),
        Index("ix_auctions_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False, unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False, index=True)
    units: Mapped[int] = mapped_column(Integer, nullable=False)
    start_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
    increment: Mapped[int] = mapped_column(BigInteger, nullable=False)
    duration_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[AuctionStatus] = mapped_column(str_enum(AuctionStatus), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bids stored so far; also the sequence the next bids take (ties go to the lower sequence).
    bid_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    extensions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AuctionChange(TimestampMixin, Base):
    __tablename__ = "auction_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), nullable=False, index=True)
    from_status: Mapped[AuctionStatus | None] = mapped_column(str_enum(AuctionStatus))
    to_status: Mapped[AuctionStatus] = mapped_column(str_enum(AuctionStatus), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(200))


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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[BidKind] = mapped_column(str_enum(BidKind), nullable=False, default=BidKind.MANUAL)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    key: Mapped[str | None] = mapped_column(String(64))


class StandingBid(Base):
    """The member's current bid in an auction (their highest), and their proxy maximum. The
    ranking is ``amount`` descending, then ``sequence`` ascending (the earlier bid wins a tie)."""

    __tablename__ = "standing_bids"
    __table_args__ = (
        UniqueConstraint("auction_id", "member_id"),
        Index("ix_standing_bids_rank", "auction_id", "amount", "sequence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("bids.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), nullable=False)
    # Which of the auction's units this row is about (1..units); an offer passed on keeps its unit.
    unit: Mapped[int] = mapped_column(Integer, nullable=False)
    rank: Mapped[int | None] = mapped_column(Integer)  # the bidder's rank at the close
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    status: Mapped[ResultStatus] = mapped_column(str_enum(ResultStatus), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class NotificationKind(StrEnum):
    OUTBID = "outbid"
    WON = "won"
    OFFERED = "offered"
    DEADLINE = "deadline"


class Notification(TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # one notice per subject: a redelivered event or a second sweep adds nothing
        UniqueConstraint("member_id", "dedupe_key"),
        Index("ix_notifications_member_id_read_at", "member_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), nullable=False)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind), nullable=False)
    text: Mapped[str] = mapped_column(String(300), nullable=False)
    link: Mapped[str] = mapped_column(String(200), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(100), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
