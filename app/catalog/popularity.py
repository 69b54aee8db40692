"""Popular-now ranking: daily counters per product, and a periodic recompute of
``products.popularity`` from them.

Formula (integers throughout)::

    day_score  = views + 5 * purchases + 3 * bids          for one product and one UTC day
    popularity = floor(day_score(today) + 0.5 * day_score(yesterday))

Only the last two UTC days count, so a product that stops drawing interest falls off the list
within two days. A purchase weighs most (it is scarce), a bid a little less, a view least.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, case, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import lifecycle
from app.catalog.transitions import product_changed
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
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {name: (by if name == counter else 0) for name in _COUNTERS}
    stmt = insert(ProductDailyStats).values(product_id=product_id, day=day, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ProductDailyStats.product_id, ProductDailyStats.day],
        set_={counter: getattr(ProductDailyStats, counter) + by},
    )
    await db.execute(stmt)


async def record_view(db: AsyncSession, product_id: int, today: date | None = None) -> None:
    await bump(db, product_id, "views", today)


async def record_purchase(db: AsyncSession, product_id: int, today: date | None = None) -> None:
    await bump(db, product_id, "purchases", today)


async def record_bid(db: AsyncSession, product_id: int, today: date | None = None) -> None:
    await bump(db, product_id, "bids", today)


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
    table = Product.__table__
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
