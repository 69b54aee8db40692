"""A waiting room's admissions: the places let in, in line order, at the product's rate, never more
at once than the units left, and the door a Buy press goes through with one.

Issuing (``issue_due``) runs on every view of the line page and from the web process's loop
(``issue_all_due``, every ``admission_poll_seconds``; with Redis one process per interval). A
read without a lock says whether anything is due; only then is the product's row locked (the lock
every Buy batch takes too), the places written if they were not (``line_places``), and the due
places admitted by ``line_rules.admissions_due`` over the places themselves (``range(1, length +
1)``: the line's order is its places), with the units left (fixed − taken) and the admissions
outstanding: unexpired ones whose press has no answer yet (unused, or used by a press still being
decided). Each place is admitted once (``products.line_admitted`` moves under the lock; a unique
key per place behind it). An admission lives ``ADMISSION_MINUTES``; one not used by then frees
its unit for the next place, and a unit that comes back (a right not paid in time) lets the line
move on in order.

The door (``admit_press``) checks the signed token and spends the admission with one conditional
UPDATE in a short transaction of its own, committed before the press is queued: the press's batch
commits in a transaction of its own as well, and on SQLite a write held open by the request would
keep the one write lock that batch waits for. The press the admission was used with is let through
again (it replays its answer by key); any other is refused. Flushes, never commits, except
``admit_press`` and ``issue_all_due``, which are units of work of their own."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Select, Table, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import Msg
from app.db import Database
from app.drops.line_places import Line, lock_line, read_line, record_places
from app.drops.line_rules import Admission as Signed
from app.drops.line_rules import (
    Entry,
    admissions_due,
    entry,
    new_nonce,
    read_signed_admission,
    sign_admission,
)
from app.drops.rules import key_is_valid
from app.live.hub import touch_after_commit
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PressRefusal, PurchaseRight
from app.models.lines import Admission, LinePlace
from app.settings import Settings

log = logging.getLogger(__name__)

_admissions = cast(Table, Admission.__table__)

REFUSALS = {
    Entry.UNKNOWN: Msg("This sale lets members in from its waiting room: join the line to buy."),
    Entry.USED: Msg("This admission was already used for another press: each turn in the line buys once."),
    Entry.EXPIRED: Msg("This admission expired: it was not used in time, and its unit went to the next place in line."),
}


def admission_secret(settings: Settings) -> bytes:
    """The key admissions are signed with: derived from the app's one secret (the same on every
    host), for this use alone."""
    return hmac.new(settings.secret_key.encode(), b"smore:waiting-room-admission", hashlib.sha256).digest()


def rate_of(line: Line, settings: Settings) -> int:
    return line.rate or settings.admission_rate_per_minute


# Outstanding: alive, and its press (if any yet) not answered. A used admission whose press was
# granted is counted by the product's taken units instead; one refused holds nothing.
def _outstanding_query(product_id: int, now: datetime) -> Select[int]:
    answered = exists().where(PurchaseRight.idempotency_key == Admission.press_key)
    refused = exists().where(PressRefusal.key == Admission.press_key)
    return (
        select(func.count())
        .select_from(Admission)
        .where(Admission.product_id == product_id, Admission.expires_at > now, ~answered, ~refused)
    )


async def outstanding(db: AsyncSession, product_id: int, now: datetime) -> int:
    """Admissions of the product holding a unit at ``now``."""
    return int(await db.scalar(_outstanding_query(product_id, now)) or 0)


# A sale whose start has passed lets its line in, even while its opening is on its way.
ADMITTING = (ProductStatus.SCHEDULED, ProductStatus.ON_SALE)


def _due(line: Line, settings: Settings, now: datetime, held: int) -> list[int]:
    """The places due at ``now`` (``held``: the outstanding admissions)."""
    if line.status not in ADMITTING or line.length is None:
        return []
    places = range(1, line.length + 1)
    return admissions_due(places, line.admitted, line.starts_at, rate_of(line, settings), now, line.units_left, held)


async def _anything_due(db: AsyncSession, line: Line, settings: Settings, now: datetime) -> bool:
    """Whether a lock is worth taking: places unwritten, or places due (outstanding counted only
    when the rate and the units would admit some)."""
    if line.length is None:
        return True
    return bool(_due(line, settings, now, 0)) and bool(
        _due(line, settings, now, await outstanding(db, line.product_id, now))
    )


async def issue_due(db: AsyncSession, settings: Settings, product_id: int, now: datetime) -> int:
    """Admit the places due at ``now`` (writing the line's places first if nobody has); how many
    were admitted. Nothing for a product that is not a waiting room, or before its start."""
    seen = await read_line(db, product_id)
    if seen is None or seen.sale_mode is not SaleMode.WAITING_ROOM or now < seen.starts_at:
        return 0
    if not await _anything_due(db, seen, settings, now):
        return 0
    locked = await lock_line(db, product_id)
    assert locked is not None  # products are never deleted while on the shop
    line = await record_places(db, locked, now)
    places = _due(line, settings, now, await outstanding(db, product_id, now))
    if places or line.length != locked.length:  # places let in, or the places written
        touch_after_commit(db, "line", product_id)
    if not places:
        return 0
    query = select(LinePlace.place, LinePlace.member_id).where(
        LinePlace.product_id == product_id, LinePlace.place.between(places[0], places[-1])
    )
    expires = now + timedelta(minutes=settings.admission_minutes)
    rows = [
        {"product_id": product_id, "member_id": member_id, "place": place, "nonce": new_nonce()}
        | {"issued_at": now, "expires_at": expires}
        for place, member_id in (await db.execute(query)).all()
    ]
    if rows:
        await db.execute(insert(_admissions), rows)
    moved = await db.execute(
        update(Product)
        .where(Product.id == product_id, Product.line_admitted == line.admitted)
        .values(line_admitted=places[-1], updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )
    assert moved.rowcount == 1, "the line moved under its own lock"  # type: ignore[attr-defined]
    return len(rows)


async def issue_all_due(database: Database, settings: Settings, now: datetime) -> int:
    """``issue_due`` for every waiting room on sale since before ``now``, each in a transaction of
    its own (one that fails is logged and tried again next time); how many were admitted."""
    query = select(Product.id).where(
        Product.sale_mode == SaleMode.WAITING_ROOM,
        Product.status.in_(ADMITTING),
        Product.sale_starts_at <= now,
    )
    async with database.transaction() as db:
        product_ids = list((await db.scalars(query)).all())
    issued = 0
    for product_id in product_ids:
        try:
            async with database.transaction() as db:
                issued += await issue_due(db, settings, product_id, now)
        except Exception:
            log.exception("admissions of waiting room %s failed; tried again next time", product_id)
    return issued


@dataclass(frozen=True)
class Pass:
    """A member's admission as their pages show it: the token its Buy form carries, and whether it
    is still theirs to use."""

    token: str
    place: int
    expires_at: datetime
    used: bool

    def live(self, now: datetime) -> bool:
        return not self.used and now < self.expires_at


async def pass_of(db: AsyncSession, settings: Settings, product_id: int, member_id: int) -> Pass | None:
    """The member's admission for the product, if their place was let in."""
    query = select(Admission).where(Admission.product_id == product_id, Admission.member_id == member_id)
    row = (await db.execute(query)).scalar_one_or_none()
    if row is None:
        return None
    token = sign_admission(admission_secret(settings), Signed(member_id, product_id, row.expires_at, row.nonce))
    return Pass(token, row.place, row.expires_at, used=row.used_at is not None)


@dataclass(frozen=True)
class Door:
    """A Buy press's way past a waiting room: ``admitted`` (press with ``admitted=True``), or
    ``refusal`` (answered 409 without pressing); neither when the product is no waiting room."""

    admitted: bool = False
    refusal: Msg | None = None


async def admit_press(
    database: Database, settings: Settings, token: str, member_id: int, product_id: int, key: str, now: datetime
) -> Door:
    """Spend the admission ``token`` carries on the press with ``key``, in a transaction of its own.
    First-come and draw products ignore the token. Nothing is spent on a press the product would
    refuse anyway (a key that is not one, a sale not open yet or sold out): it is pressed without
    the admission and told why, and the admission waits for a press that can buy."""
    if not key_is_valid(key):
        return Door()
    async with database.transaction() as db:
        query = select(Product.sale_mode, Product.status).where(Product.id == product_id)
        product = (await db.execute(query)).one_or_none()
        if product is None or product.sale_mode is not SaleMode.WAITING_ROOM:
            return Door()
        if product.status is not ProductStatus.ON_SALE:
            return Door()
        signed = read_signed_admission(admission_secret(settings), token, member_id, product_id)
        if signed is None:
            return Door(refusal=REFUSALS[Entry.UNKNOWN])
        for _attempt in range(2):  # a spend that lost a race reads the winner's key
            verdict = await _verdict(db, signed, key, now)
            if verdict is not Entry.LET_IN:
                break
            if await _spend(db, signed, key, now):
                return Door(admitted=True)
        if verdict is Entry.REPLAY:
            return Door(admitted=True)
        return Door(refusal=REFUSALS.get(verdict, REFUSALS[Entry.USED]))


def _row(signed: Signed) -> list[ColumnElement[bool]]:
    return [
        Admission.nonce == signed.nonce,
        Admission.product_id == signed.product_id,
        Admission.member_id == signed.member_id,
    ]


async def _verdict(db: AsyncSession, signed: Signed, key: str, now: datetime) -> Entry:
    found = (await db.execute(select(Admission.expires_at, Admission.press_key).where(*_row(signed)))).one_or_none()
    if found is None:
        return entry(None, None, key, signed.expires_at, now)
    answered = found.press_key == key and await _answered(db, key)
    return entry(found.expires_at, found.press_key, key, signed.expires_at, now, answered)


async def _answered(db: AsyncSession, key: str) -> bool:
    right = exists().where(PurchaseRight.idempotency_key == key)
    refusal = exists().where(PressRefusal.key == key)
    return bool(await db.scalar(select(right | refusal)))


async def _spend(db: AsyncSession, signed: Signed, key: str, now: datetime) -> bool:
    """Unused and alive → used with ``key``, in one statement; False when another press won."""
    spent = await db.execute(
        update(Admission)
        .where(*_row(signed), Admission.used_at.is_(None), Admission.expires_at > now)
        .values(used_at=now, press_key=key)
        .execution_options(synchronize_session=False)
    )
    return bool(spent.rowcount)  # type: ignore[attr-defined]
