"""Entering a draw, and what a draw says to one viewer (the product page's box, the draw's page).
The rules are pure (``entry_rules``); this service loads what they read, under the product's row
lock, and writes the entry. Flushes, never commits.

An entry takes the product's row first (a write that changes nothing: on PostgreSQL the row lock
the draw's own conditional UPDATE waits for, on SQLite the single write lock), then reads the
window and the draw: an entry is either written before the draw reads the entries, or sees the
draw made and is refused. None is ever written and left out of the draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, NotFound
from app.core.i18n import _, format_datetime, ngettext
from app.core.status import created
from app.db import add_once
from app.drops.entry_rules import ABOUT_THE_MEMBER, Entrant, Phase, Refusal, old_enough_at, phase, refusal
from app.drops.purchases import public_product
from app.drops.row_lock import product_lock
from app.models.catalog import Product, SaleMode
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PurchaseRight
from app.models.members import Member

_products = cast(Table, Product.__table__)
_LOCK = product_lock(
    _products.c.status,
    _products.c.seller_id,
    _products.c.sale_starts_at,
    _products.c.draw_ends_at,
    _products.c.drawn_at,
    _products.c.draw_min_account_days,
)


class EntryRefused(DomainError):
    """The member may not enter; ``status_code`` is 403 when it is about them, 409 about the moment."""

    def __init__(self, message: str, why: Refusal) -> None:
        super().__init__(message)
        self.why = why
        self.status_code = 403 if why in ABOUT_THE_MEMBER else 409


@dataclass(frozen=True)
class Entered:
    entry: DrawEntry
    new: bool  # False: the member had entered before; that first entry stands


@dataclass(frozen=True)
class DrawBox:
    """What a draw says to one viewer: where it stands, their entry and the right it got, or why
    they may not enter (``why``, with the sentence ``message``)."""

    phase: Phase
    signed_in: bool
    entry: DrawEntry | None = None
    right: PurchaseRight | None = None
    why: Refusal | None = None
    message: str | None = None

    @property
    def can_enter(self) -> bool:
        return self.signed_in and self.entry is None and self.why is None and self.phase is Phase.OPEN


def _entrant(member: Member) -> Entrant:
    return Entrant(member.id, member.email_confirmed_at is not None, member.created_at)


def refusal_message(why: Refusal, member: Member, starts_at: datetime, min_account_days: int) -> str:
    """The sentence a refused member reads."""
    if why is Refusal.OWN_PRODUCT:
        return _("This is your product: sellers cannot enter the draw for their own products.")
    if why is Refusal.NOT_OPEN:
        return _("Entries are not open yet: they open %(time)s.", time=format_datetime(starts_at))
    if why is Refusal.CLOSED:
        return _("Entries for this draw are closed.")
    if why is Refusal.UNCONFIRMED:
        return _(
            "Only accounts with a confirmed email address may enter draws. Open the confirmation link we "
            "mailed to %(email)s; your account page says more.",
            email=member.email,
        )
    return ngettext(
        "Only accounts at least %(num)d day old may enter this draw; yours will be from %(time)s.",
        "Only accounts at least %(num)d days old may enter this draw; yours will be from %(time)s.",
        min_account_days,
        time=format_datetime(old_enough_at(member.created_at, min_account_days)),
    )


def _refuse_if_not_allowed(member: Member, product: Any, now: datetime) -> None:
    """Raise ``EntryRefused`` when ``member`` may not enter the draw of ``product`` (the product, or
    its row as the lock read it) at ``now``."""
    window = phase(product.status, product.draw_ends_at, product.drawn_at, now)
    why = refusal(
        _entrant(member),
        seller_id=product.seller_id,
        window=window,
        min_account_days=product.draw_min_account_days,
        now=now,
    )
    if why is not None:
        message = refusal_message(why, member, product.sale_starts_at, product.draw_min_account_days)
        raise EntryRefused(message, why)


class Draws:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def product(self, product_id: int) -> Product:
        """A draw listing the shop shows; any other id (a product sold otherwise too) is "not found"."""
        product = await public_product(self.db, product_id)
        if product.sale_mode is not SaleMode.DRAW:
            raise NotFound(_("This product is not sold by draw."))
        return product

    async def entry_of(self, member_id: int, product_id: int) -> DrawEntry | None:
        query = select(DrawEntry).where(DrawEntry.product_id == product_id, DrawEntry.member_id == member_id)
        return (await self.db.execute(query)).scalar_one_or_none()

    async def may_enter(self, member: Member, product_id: int, now: datetime) -> bool:
        """Whether an entry of ``member`` would be new, read without a lock (the form asks for a
        proof only then): False when they entered already; ``EntryRefused`` when they may not
        enter at all. ``enter`` decides again under the product's lock."""
        product = await self.product(product_id)
        if await self.entry_of(member.id, product.id) is not None:
            return False
        _refuse_if_not_allowed(member, product, now)
        return True

    async def enter(self, member: Member, product_id: int, now: datetime) -> Entered:
        """Enter ``member`` in the product's draw, once: a second entry keeps the first. Raises
        ``EntryRefused`` (nothing written) when they may not."""
        product = await self.product(product_id)
        locked: Any = (await self.db.execute(_LOCK, {"product_id": product.id})).one()
        existing = await self.entry_of(member.id, product.id)
        if existing is not None:
            return Entered(existing, new=False)
        _refuse_if_not_allowed(member, locked, now)
        entry = DrawEntry(product_id=product.id, member_id=member.id, entered_at=now, status=EntryStatus.ENTERED)
        if not await add_once(self.db, entry):  # the same member's other request got there first
            first = await self.entry_of(member.id, product.id)
            assert first is not None
            return Entered(first, new=False)
        created(self.db, entry, reason="entered", actor=member)
        return Entered(entry, new=True)

    async def box(self, product: Product, viewer: Member | None, now: datetime) -> DrawBox | None:
        """What the product's draw says to ``viewer`` (None: signed out); None when it is no draw."""
        if product.sale_mode is not SaleMode.DRAW:
            return None
        window = phase(product.status, product.draw_ends_at, product.drawn_at, now)
        if viewer is None:
            return DrawBox(window, signed_in=False)
        entry = await self.entry_of(viewer.id, product.id)
        if entry is not None:
            right = await self.db.get(PurchaseRight, entry.right_id) if entry.right_id is not None else None
            return DrawBox(window, signed_in=True, entry=entry, right=right)
        why = refusal(
            _entrant(viewer),
            seller_id=product.seller_id,
            window=window,
            min_account_days=product.draw_min_account_days,
            now=now,
        )
        if why is None:
            return DrawBox(window, signed_in=True)
        message = refusal_message(why, viewer, product.sale_starts_at, product.draw_min_account_days)
        return DrawBox(window, signed_in=True, why=why, message=message)
