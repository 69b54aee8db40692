"""Popular-now ranking: daily counters per product, and a periodic recompute of
``products.popularity`` from them.

Formula (integers throughout)::

    day_score  = views + 5 * purchases + 3 * bids          for one product and one UTC day
    popularity = floor(day_score(today) + 0.5 * day_score(yesterday))

Only the last two UTC days count, so a product that stops drawing interest falls off the list
within two days. A purchase weighs most (it is scarce), a bid a little less, a view least.

Where the counts come from:

- purchases: each ``drop.right_granted`` event, counted once by its handler (the inbox), on the
  UTC day the event was created;
- bids: each ``auction.bids_placed`` event (one per committed batch of bids, carrying how many
  were accepted), counted once the same way;
- views: a public product page seen by someone other than its seller (not a gallery step), added
  to the web process's ``ViewCounter`` in memory (no database write on the page's request) and
  written every ``VIEW_FLUSH_SECONDS`` and at shutdown by ``add_views``, one multi-row upsert.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.catalog.transitions import product_changed
from app.db import Database
from app.models.base import utcnow
from app.models.catalog import Product, ProductDailyStats

VIEW_WEIGHT = 1
PURCHASE_WEIGHT = 5
BID_WEIGHT = 3
# A recompute tells search about at most this many products (largest changes first); the rest
# keep their old value until the next run, so the database and the search index never disagree
# for long and a burst of activity cannot flood the queue.
NOTIFY_LIMIT = 200

_COUNTERS = ("views", "purchases", "bids")


async def bump(db: AsyncSession, product_id: int, counter: str, day: date | None = None, by: int = 1) -> None:
    """Add ``by`` to one daily counter in a single atomic upsert (no read-modify-write)."""
    if counter not in _COUNTERS:
        raise ValueError(f"unknown counter {counter!r}")
    day = day or utcnow().date()
    values = {name: (by if name == counter else 0) for name in _COUNTERS}
    stmt = _insert(db)(ProductDailyStats).values(product_id=product_id, day=day, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ProductDailyStats.product_id, ProductDailyStats.day],
        set_={counter: getattr(ProductDailyStats, counter) + by},
    )
    await db.execute(stmt)


async def record_purchase(db: AsyncSession, product_id: int, today: date | None = None) -> None:
    await bump(db, product_id, "purchases", today)


async def record_bid(db: AsyncSession, product_id: int, today: date | None = None, count: int = 1) -> None:
    await bump(db, product_id, "bids", today, by=count)


# Rows per upsert when views are written: 5 parameters a row stays under the 32,766 bound
# parameters SQLite and asyncpg accept in one statement. A flush is one statement unless more
# than this many (product, day) pairs were viewed since the last one.
VIEW_ROWS_PER_STATEMENT = 5000


async def add_views(db: AsyncSession, counts: Mapping[tuple[int, date], int]) -> None:
    """Add ``{(product_id, day): n}`` to the daily ``views`` in one multi-row upsert."""
    rows = [
        {"product_id": pid, "day": day, "views": n, "purchases": 0, "bids": 0}
        for (pid, day), n in sorted(counts.items())  # a fixed order: concurrent flushes lock rows alike
        if n > 0
    ]
    for start in range(0, len(rows), VIEW_ROWS_PER_STATEMENT):
        stmt = _insert(db)(ProductDailyStats).values(rows[start : start + VIEW_ROWS_PER_STATEMENT])
        stmt = stmt.on_conflict_do_update(
            index_elements=[ProductDailyStats.product_id, ProductDailyStats.day],
            set_={"views": ProductDailyStats.views + stmt.excluded.views},
        )
        await db.execute(stmt)


class ViewCounter:
    """The views one web process has counted and not written yet: ``(product_id, UTC day) → n``.
    ``add`` runs on the page's request path and touches only memory; a lock makes ``add`` and the
    swap in ``take`` safe from any thread of the process (the event loop, the in-process worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, date], int] = {}

    def add(self, product_id: int, day: date | None = None) -> None:
        key = (product_id, day or utcnow().date())
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def take(self) -> dict[tuple[int, date], int]:
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts

    def give_back(self, counts: Mapping[tuple[int, date], int]) -> None:
        with self._lock:
            for key, n in counts.items():
                self._counts[key] = self._counts.get(key, 0) + n

    async def flush(self, database: Database) -> int:
        """Write the counted views in their own short transaction; returns how many views were
        written. What could not be written is kept for the next flush; the views of a product
        deleted meanwhile are dropped, so one missing row cannot block the rest for ever."""
        counts = self.take()
        if not counts:
            return 0
        try:
            try:
                async with database.transaction() as db:
                    await add_views(db, counts)
            except IntegrityError:
                async with database.transaction() as db:
                    ids = {pid for pid, _ in counts}
                    alive = set((await db.execute(select(Product.id).where(Product.id.in_(ids)))).scalars())
                    counts = {key: n for key, n in counts.items() if key[0] in alive}
                    await add_views(db, counts)
        except BaseException:
            self.give_back(counts)
            raise
        return sum(counts.values())


def _insert(db: AsyncSession) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert


async def scores(db: AsyncSession, today: date) -> dict[int, int]:
    """``{product_id: popularity}`` for every product with counts today or yesterday."""
    day_score = (
        ProductDailyStats.views * VIEW_WEIGHT
        + ProductDailyStats.purchases * PURCHASE_WEIGHT
        + ProductDailyStats.bids * BID_WEIGHT
    )
    # doubled so the half weight of yesterday stays an integer until the final floor division
    doubled = func.sum(day_score * case((ProductDailyStats.day == today, 2), else_=1))
    stmt = (
        select(ProductDailyStats.product_id, doubled)
        .where(ProductDailyStats.day.in_([today, today - timedelta(days=1)]))
        .group_by(ProductDailyStats.product_id)
    )
    return {pid: int(total or 0) // 2 for pid, total in (await db.execute(stmt)).all()}


@dataclass(frozen=True)
class _Change:
    product_id: int
    old: int
    new: int
    public: bool


async def recompute_popularity(db: AsyncSession, now: datetime | None = None, notify_limit: int = NOTIFY_LIMIT) -> int:
    """Write the formula's value to ``products.popularity`` where it differs; returns how many
    products changed. Each changed public product gets a ``product.changed`` event (for search),
    at most ``notify_limit`` per run."""
    today = (now or utcnow()).date()
    fresh = await scores(db, today)
    stmt = select(Product.id, Product.popularity, Product.status).where(
        or_(Product.popularity != 0, Product.id.in_(fresh) if fresh else false())
    )
    changes = [
        _Change(pid, old, fresh.get(pid, 0), lifecycle.is_public(status))
        for pid, old, status in (await db.execute(stmt)).all()
        if fresh.get(pid, 0) != old
    ]
    changes.sort(key=lambda c: (-abs(c.new - c.old), c.product_id))
    budget = notify_limit
    written: list[_Change] = []
    for change in changes:
        if change.public:
            if budget <= 0:
                continue  # deferred: still differs next run
            budget -= 1
        written.append(change)
    if not written:
        return 0
    table = cast(Table, Product.__table__)
    await db.execute(
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values(popularity=bindparam("score"), updated_at=table.c.updated_at),  # a ranking, not an edit
        [{"pid": c.product_id, "score": c.new} for c in written],
    )
    # reload the changed rows (refreshing any copy this session already holds) and tell search
    reload = select(Product).where(Product.id.in_([c.product_id for c in written]))
    loaded = {p.id: p for p in (await db.execute(reload.execution_options(populate_existing=True))).scalars()}
    for change in written:
        if change.public and (product := loaded.get(change.product_id)) is not None:
            await product_changed(db, product)
    return len(written)
