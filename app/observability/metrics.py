"""The shop's own metrics (prometheus_client), recorded where things happen and read at ``/metrics``.

Labels are few and bounded (an outcome, a lane, a handler's name), never a product or member id.
Recording is an increment in memory (a memory-mapped file in multiprocess mode, see
``app.observability.multiproc``): nothing here does I/O on a hot path. ``METRICS=0`` turns
recording off (``set_enabled``), to measure what it costs.

Gauges say how the processes of a server add up: ``livesum`` (streams open, connections in use)
or ``livemax`` (the age of the oldest unsent event, the same database seen by every relay).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BATCH_SECONDS",
    "BATCH_SIZE",
    "PRESSES",
    "batch_observer",
    "count_bid",
    "count_gate_lookup",
    "count_handler_failure",
    "count_payment",
    "count_press",
    "count_refund",
    "later",
    "live_stream",
    "set_enabled",
    "watch_pool",
]


class _Switch:
    on = True


def set_enabled(on: bool) -> None:
    """Record (the default) or not (``METRICS=0``): one switch for the whole process."""
    _Switch.on = on


def enabled() -> bool:
    return _Switch.on


# ---------------------------------------------------------------- drops

PRESS_OUTCOMES = (
    "granted",
    "sold_out",
    "limit",
    "not_on_sale",
    "ended",
    "signed_out",
    "own_product",
    "replayed",
    "key_conflict",
    "invalid_key",
    "not_found",
    "error",
)
PRESSES = Counter(
    "smore_drop_presses_total", "Buy presses by their answer (replayed: a key answered before)", ["outcome"]
)
_PRESSES = {outcome: PRESSES.labels(outcome) for outcome in PRESS_OUTCOMES}

GATE_LOOKUPS = Counter(
    "smore_drop_gate_lookups_total",
    "Buy presses looked up in the gate: answered by it (gate), or decided by the database (database, unavailable)",
    ["answer"],
)
_GATE = {answer: GATE_LOOKUPS.labels(answer) for answer in ("gate", "database", "unavailable")}

LANES = ("drop", "bid")
BATCH_SIZE = Histogram(
    "smore_batch_size",
    "Requests decided together in one transaction, per lane (Buy presses of a product, bids of an auction)",
    ["lane"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram(
    "smore_batch_seconds",
    "How long one batch took to decide and commit, per lane",
    ["lane"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
for _lane in LANES:
    BATCH_SIZE.labels(_lane)
    BATCH_SECONDS.labels(_lane)


def count_press(outcome: str) -> None:
    if _Switch.on:
        (_PRESSES.get(outcome) or PRESSES.labels(outcome)).inc()


def count_gate_lookup(answer: str) -> None:
    if _Switch.on:
        _GATE[answer].inc()


def batch_observer(lane: str) -> Callable[[int, float], None]:
    """What ``Lanes`` calls after each batch: its size and the seconds it took."""
    size, seconds = BATCH_SIZE.labels(lane), BATCH_SECONDS.labels(lane)

    def observe(count: int, elapsed: float) -> None:
        if _Switch.on:
            size.observe(count)
            seconds.observe(elapsed)

    return observe


# ---------------------------------------------------------------- auctions

BID_OUTCOMES = ("accepted", "replayed", "refused", "signed_out", "invalid", "error")
BIDS = Counter("smore_bids_total", "Bids by their answer", ["outcome"])
_BIDS = {outcome: BIDS.labels(outcome) for outcome in BID_OUTCOMES}
EXTENSIONS = Counter("smore_auction_extensions_total", "Auction ends pushed back by a late bid (soft close)")


def count_bid(outcome: str) -> None:
    if _Switch.on:
        _BIDS[outcome].inc()


def count_extension() -> None:
    if _Switch.on:
        EXTENSIONS.inc()


# ---------------------------------------------------------------- payments

PAYMENT_OUTCOMES = ("approved", "approved_too_late", "declined", "checkout_failed", "confirm_unanswered")
PAYMENTS = Counter(
    "smore_payments_total",
    "Payment attempts by what became of them (approved_too_late: charged after the deadline, refunded in full; "
    "confirm_unanswered: the gateway did not answer the confirm, settled later)",
    ["outcome"],
)
_PAYMENTS = {outcome: PAYMENTS.labels(outcome) for outcome in PAYMENT_OUTCOMES}
REFUND_OUTCOMES = ("reserved", "done", "failed")
REFUNDS = Counter(
    "smore_refunds_total", "Refunds reserved, done by the gateway, or refused by it (released)", ["outcome"]
)
_REFUNDS = {outcome: REFUNDS.labels(outcome) for outcome in REFUND_OUTCOMES}
REFUNDED_WON = Counter("smore_refunded_won_total", "Won given back by refunds the gateway made")


def count_payment(outcome: str) -> None:
    if _Switch.on:
        _PAYMENTS[outcome].inc()


def count_refund(outcome: str, amount: int = 0) -> None:
    if _Switch.on:
        _REFUNDS[outcome].inc()
        if amount:
            REFUNDED_WON.inc(amount)


def later(record: Callable[..., None], *args: Any) -> Callable[[], Awaitable[None]]:
    """``record(*args)`` as an after-commit effect (``app.db.after_commit``): counted only if the
    transaction that did it commits."""

    async def effect() -> None:
        record(*args)

    return effect


# ---------------------------------------------------------------- events

DELAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
OUTBOX_OLDEST = Gauge(
    "smore_outbox_oldest_unsent_age_seconds",
    "Age of the oldest event not yet sent to the queue, as the relay last found it (0: none waiting)",
    multiprocess_mode="livemax",
)
RELAY_DELAY = Histogram(
    "smore_outbox_relay_delay_seconds", "From an event's commit to its first send to the queue", buckets=DELAY_BUCKETS
)
HANDLED_DELAY = Histogram(
    "smore_event_handled_delay_seconds",
    "From an event's first send to the moment every handler of it had run",
    buckets=DELAY_BUCKETS,
)
HANDLER_FAILURES = Counter("smore_event_handler_failures_total", "Event handler runs that raised", ["handler"])
HANDLERS_PARKED = Counter(
    "smore_event_handlers_parked_total", "Event handlers parked after repeated failures", ["handler"]
)


def outbox_backlog(oldest_age_seconds: float) -> None:
    if _Switch.on:
        OUTBOX_OLDEST.set(max(0.0, oldest_age_seconds))


def observe_relay_delay(seconds: float) -> None:
    if _Switch.on:
        RELAY_DELAY.observe(max(0.0, seconds))


def observe_handled_delay(seconds: float) -> None:
    if _Switch.on:
        HANDLED_DELAY.observe(max(0.0, seconds))


def count_handler_failure(handler: str, parked: bool) -> None:
    if _Switch.on:
        HANDLER_FAILURES.labels(handler).inc()
        if parked:
            HANDLERS_PARKED.labels(handler).inc()


# ---------------------------------------------------------------- the queue (``tasks.metrics`` records them)

QUEUE_LABELS = ["queue", "actor"]
QUEUE_MESSAGES = Counter("smore_queue_messages_total", "Queue messages processed (or skipped)", QUEUE_LABELS)
QUEUE_FAILURES = Counter("smore_queue_message_failures_total", "Queue messages whose actor raised", QUEUE_LABELS)
QUEUE_RETRIES = Counter("smore_queue_message_retries_total", "Queue messages sent again after a failure", QUEUE_LABELS)
QUEUE_IN_PROGRESS = Gauge(
    "smore_queue_messages_in_progress", "Queue messages being processed", QUEUE_LABELS, multiprocess_mode="livesum"
)
QUEUE_SECONDS = Histogram(
    "smore_queue_message_seconds",
    "How long an actor took on a message",
    QUEUE_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


# ---------------------------------------------------------------- live streams and the database

STREAM_KINDS = ("product", "auction", "member", "page")  # page: the dashboard, live lists and ledgers (watch.py)
LIVE_STREAMS = Gauge(
    "smore_live_streams", "Server-sent event streams open, by channel kind", ["channel"], multiprocess_mode="livesum"
)
_STREAMS = {kind: LIVE_STREAMS.labels(kind) for kind in STREAM_KINDS}
POOL_CHECKED_OUT = Gauge(
    "smore_db_pool_checked_out", "Database connections in use (checked out of the pools)", multiprocess_mode="livesum"
)
POOL_LIMIT = Gauge(
    "smore_db_pool_limit",
    "Database connections the pools may open at most (pool size + overflow, every pool of every process)",
    multiprocess_mode="livesum",
)


@contextmanager
def live_stream(channel: str) -> Iterator[None]:
    """Count a stream of ``channel`` (``product:12`` counts as ``product``) while it is open."""
    kind = channel.partition(":")[0]
    gauge = _STREAMS.get(kind) if _Switch.on else None
    if gauge is None:
        yield
        return
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def watch_pool(engine: Any, limit: int | None) -> None:
    """Count the connections ``engine`` (an ``AsyncEngine``) has checked out, and its limit (None: no pool)."""
    if not _Switch.on:
        return
    from sqlalchemy import event

    event.listen(engine.sync_engine, "checkout", lambda *_args: POOL_CHECKED_OUT.inc())
    event.listen(engine.sync_engine, "checkin", lambda *_args: POOL_CHECKED_OUT.dec())
    if limit:
        POOL_LIMIT.inc(limit)
        weakref.finalize(engine.sync_engine, POOL_LIMIT.dec, limit)
