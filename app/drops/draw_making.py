"""The draw at the end of its entry window, and the cascade after it. Services flush, never commit.

The draw is made once: one conditional UPDATE of the product (a draw listing on sale, its window
over, not drawn yet) records when it was made and for how many units (the fixed-price units left),
and holds the product's row until the commit (on SQLite the single write lock), so entries, which
take the same row first, are either all in it or refused. Then the pure ``draw_rules.draw`` over
the entry ids and the revealed seed orders the entries; each gets its place, the winners purchase
rights held for ``purchase_hold_seconds`` (written as a Buy batch writes them: history, ledger row,
``drop.right_granted``, the units taken in one conditional UPDATE, the gate told after the commit;
the event schedules the expiry and makes the order) and the others are left behind.

When a draw's right is released unpaid (``stock.release_right``: expiry, give-up, failed payment),
``pass_on`` hands its unit to the next entry in draw order never offered one (the pure
``draw_rules.next_offers``), with a fresh right; the unit never goes back to the stock in between.

Units no entry is left to take (fewer entries than units, or every entry offered one already) leave
the fixed-price stock for the auction (``fixed_quantity`` goes down, a ``conversion`` row in the
ledger): the rest of the sale converts to a live auction, as a first-come sale's rest does when its
fixed-price units are gone, once the rights still held are settled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog.transitions import transition
from app.core.status import Aggregate, columns, created, move, register
from app.db import add_once, database_of
from app.drops.batch_rows import held_right, take_units
from app.drops.draw_notices import Drawn, tell_granted, tell_not_drawn
from app.drops.draw_rules import DrawResult, Offer, draw, next_offers
from app.drops.entry_rules import ENTRY_STATUS
from app.drops.gate import StockChange
from app.drops.rules import LIVE_RIGHTS
from app.drops.stock import STOCK_OPEN, convert_if_paid, ledger_entry, tell_gate
from app.events.outbox import add_event
from app.events.topics import Topic
from app.live.hub import touch_after_commit
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PurchaseRight, RightStatus, StockReason

ENTRY = register(Aggregate("draw_entry", DrawEntry, ENTRY_STATUS, payload=columns("product_id")))

# A draw's right is keyed by its entry (one right per entry, ever); a Buy key is 16 to 64 letters,
# digits, - and _, so it can never be one of these.
KEY_PREFIX = "draw-"

_entries = cast(Table, DrawEntry.__table__)
_PLACES = update(_entries).where(_entries.c.id == bindparam("entry")).values(place=bindparam("number"))


def right_key(entry_id: int) -> str:
    return f"{KEY_PREFIX}{entry_id}"


def is_draw_right(right: PurchaseRight) -> bool:
    """The right was granted by a draw (or its cascade), not by a Buy press."""
    return right.idempotency_key.startswith(KEY_PREFIX)


def _drawable(now: datetime) -> list[ColumnElement[bool]]:
    """A draw listing whose window is over and which has not been drawn."""
    return [
        Product.sale_mode == SaleMode.DRAW,
        Product.status == ProductStatus.ON_SALE,
        Product.drawn_at.is_(None),
        Product.draw_seed.is_not(None),
        Product.draw_ends_at <= now,
    ]


async def due_draws(db: AsyncSession, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Draws whose window is over and which were not made (a lost message): the earliest first."""
    stmt = select(Product.id).where(*_drawable(now or utcnow())).order_by(Product.draw_ends_at).limit(limit)
    return list((await db.execute(stmt)).scalars())


async def window_end(db: AsyncSession, product_id: int) -> datetime | None:
    """When the entry window of the product's draw ends, while the draw waits to be made (None: it
    was made, or the product is no draw on sale)."""
    return await db.scalar(
        select(Product.draw_ends_at).where(
            Product.id == product_id,
            Product.sale_mode == SaleMode.DRAW,
            Product.status == ProductStatus.ON_SALE,
            Product.drawn_at.is_(None),
        )
    )


async def make_draw(
    db: AsyncSession, product_id: int, *, hold_seconds: int, now: datetime | None = None
) -> DrawResult | None:
    """Make the product's draw if its time has come and it was not made; None otherwise (too early,
    made already, not a draw on sale). Idempotent however often or late it is asked."""
    now = now or utcnow()
    claimed = (
        await db.execute(
            update(Product)
            .where(Product.id == product_id, *_drawable(now))
            .values(drawn_at=now, draw_units=Product.fixed_quantity - Product.taken_quantity)
            .returning(Product.draw_seed, Product.draw_units, Product.list_price, Product.name, Product.taken_quantity)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if claimed is None:
        return None
    stmt = select(DrawEntry).where(DrawEntry.product_id == product_id).order_by(DrawEntry.id)
    entries = {entry.id: entry for entry in (await db.execute(stmt)).scalars()}
    result = draw(claimed.draw_seed, list(entries), claimed.draw_units)
    if result.order:
        await db.execute(_PLACES, [{"entry": e, "number": n} for n, e in enumerate(result.order, start=1)])
        for number, entry_id in enumerate(result.order, start=1):
            set_committed_value(entries[entry_id], "place", number)  # what the statement above wrote
    product = Drawn(product_id, claimed.name)
    winners = [entries[entry_id] for entry_id in result.winners]
    rights = await _grant(db, product_id, claimed.list_price, winners, hold_seconds, later=False)
    for entry_id in result.order[len(result.winners) :]:
        await move(db, entries[entry_id], EntryStatus.NOT_DRAWN, reason="not among the winners", now=now)
    if rights:
        await _take(db, product_id, rights, claimed.taken_quantity + len(rights))
        await tell_granted(db, product, list(zip(winners, rights, strict=True)), later=False)
    if (left := claimed.draw_units - len(rights)) > 0:
        await _to_auction(db, product_id, left)
    await tell_not_drawn(db, product)
    touch_after_commit(db, "product", product_id)
    return result


async def _grant(
    db: AsyncSession, product_id: int, price: int, entries: Sequence[DrawEntry], hold_seconds: int, *, later: bool
) -> list[PurchaseRight]:
    """A held right for each entry (its deadline from now), written as a Buy batch writes its
    rights: history through the status core, the ledger row of the unit leaving the stock and
    ``drop.right_granted``; the entry moves to won (or offered, ``later``) with its right."""
    if not entries:
        return []
    expires_at = utcnow() + timedelta(seconds=hold_seconds)
    rights = [held_right(product_id, e.member_id, right_key(e.id), price, expires_at) for e in entries]
    db.add_all(rights)
    await db.flush()  # the rights' ids
    reason = "offered after a right before it lapsed" if later else "drawn"
    for entry, right in zip(entries, rights, strict=True):
        created(db, right, reason=reason)
        db.add(ledger_entry(product_id, -1, StockReason.PURCHASE, f"right:{right.id}", actor_id=entry.member_id))
        add_event(db, Topic.RIGHT_GRANTED, "purchase_right", right.id, product_id=product_id)
        target = EntryStatus.OFFERED if later else EntryStatus.WON
        await move(db, entry, target, reason=reason, right_id=right.id)
    return rights


async def _take(db: AsyncSession, product_id: int, rights: Sequence[PurchaseRight], expected: int) -> None:
    """The winners' units leave the stock (one conditional UPDATE); the last one sells the sale out."""
    version = await take_units(db, product_id, len(rights), expected)
    tell_gate(db, StockChange(product_id, version, -len(rights), dict(Counter(r.member_id for r in rights))))
    product = await db.get(Product, product_id, populate_existing=True)
    assert product is not None
    if product.fixed_left == 0:
        await transition(db, product, ProductStatus.CONVERSION_PENDING, reason="every fixed-price unit is drawn")


# ----------------------------------------------------------------------------------- the cascade


async def pass_on(db: AsyncSession, right: PurchaseRight, reason: StockReason, *, actor_id: int | None) -> bool:
    """The unit of a draw's right just released unpaid goes to the next entry in draw order that
    was never offered one, with a fresh right, or with no entry left to the auction; False (nothing
    done: the unit returns to the stock) when the right is not a draw's or the sale no longer moves
    stock."""
    if not is_draw_right(right):
        return False
    # the product's row, in the order every release takes it (the right first): a second release
    # of the same draw waits here and then sees this one's offer
    product = await db.get(Product, right.product_id, with_for_update=True, populate_existing=True)
    if product is None or product.status not in STOCK_OPEN or not product.draw_units:
        return False
    following = await _next_entries(db, product.id, product.draw_units)
    if not following:
        await _unit_to_auction(db, right, reason, actor_id=actor_id)
        return True
    database = database_of(db)
    assert database is not None
    [offered] = await _grant(
        db, product.id, product.list_price, following[:1], database.settings.purchase_hold_seconds, later=True
    )
    version = await db.scalar(
        update(Product)
        .where(Product.id == product.id)
        .values(stock_version=Product.stock_version + 1)
        .returning(Product.stock_version)
        .execution_options(synchronize_session=False)
    )
    # the released unit's way back and its way out again, so the ledger still adds up to the stock
    await add_once(db, ledger_entry(product.id, +1, reason, f"right:{right.id}", actor_id=actor_id))
    tell_gate(db, StockChange(product.id, int(version or 0), 0, {right.member_id: -1, offered.member_id: +1}))
    await tell_granted(db, Drawn(product.id, product.name), [(following[0], offered)], later=True)
    touch_after_commit(db, "product", product.id)
    return True


async def _to_auction(db: AsyncSession, product_id: int, units: int) -> None:
    """``units`` of the drawn sale's stock no entry can take leave it for the auction; with none left
    at the fixed price, the sale converts once its held rights are settled (at once if none is)."""
    version = await db.scalar(
        update(Product)
        .where(Product.id == product_id, Product.fixed_quantity - Product.taken_quantity >= units)
        .values(fixed_quantity=Product.fixed_quantity - units, stock_version=Product.stock_version + 1)
        .returning(Product.stock_version)
        .execution_options(synchronize_session=False)
    )
    if version is None:
        return
    await add_once(db, ledger_entry(product_id, -units, StockReason.CONVERSION, f"draw:{product_id}"))
    tell_gate(db, StockChange(product_id, int(version), -units, {}))
    product = await db.get(Product, product_id, populate_existing=True)
    assert product is not None
    if product.fixed_left == 0 and product.status is ProductStatus.ON_SALE:
        await transition(db, product, ProductStatus.CONVERSION_PENDING, reason="no entry is left for the other units")
    await convert_if_paid(db, product_id)
    touch_after_commit(db, "product", product_id)


async def _unit_to_auction(
    db: AsyncSession, right: PurchaseRight, reason: StockReason, *, actor_id: int | None
) -> None:
    """The unit of a draw's right released unpaid, with no entry left to offer it: it comes back
    from the right and leaves the fixed-price stock for the auction in one move (what is left at the
    fixed price does not change), and the sale converts if that right was the last one held."""
    version = await db.scalar(
        update(Product)
        .where(Product.id == right.product_id, Product.taken_quantity > 0)
        .values(
            taken_quantity=Product.taken_quantity - 1,
            fixed_quantity=Product.fixed_quantity - 1,
            stock_version=Product.stock_version + 1,
        )
        .returning(Product.stock_version)
        .execution_options(synchronize_session=False)
    )
    if version is None:
        return
    reference = f"right:{right.id}"
    await add_once(db, ledger_entry(right.product_id, +1, reason, reference, actor_id=actor_id))
    await add_once(db, ledger_entry(right.product_id, -1, StockReason.CONVERSION, reference))
    tell_gate(db, StockChange(right.product_id, int(version), 0, {right.member_id: -1}))
    await convert_if_paid(db, right.product_id)
    touch_after_commit(db, "product", right.product_id)


async def _next_entries(db: AsyncSession, product_id: int, units: int) -> list[DrawEntry]:
    """The entries to offer now, in draw order: ``next_offers`` over the entries holding or having
    paid for a unit and the first entries left behind (never more than ``units`` of them matter)."""
    taken = await db.execute(
        select(DrawEntry.id, PurchaseRight.status)
        .join(PurchaseRight, PurchaseRight.id == DrawEntry.right_id)
        .where(DrawEntry.product_id == product_id, PurchaseRight.status.in_(LIVE_RIGHTS))
    )
    states = {entry_id: Offer.HOLDING if status is RightStatus.HELD else Offer.PAID for entry_id, status in taken}
    waiting = list(
        (
            await db.execute(
                select(DrawEntry)
                .where(DrawEntry.product_id == product_id, DrawEntry.status == EntryStatus.NOT_DRAWN)
                .order_by(DrawEntry.place)
                .limit(units)
            )
        ).scalars()
    )
    chosen = set(next_offers([entry.id for entry in waiting], states, units))
    return [entry for entry in waiting if entry.id in chosen]
