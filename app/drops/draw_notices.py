"""What a draw tells its entrants, each in their own language and zone, in the transaction that
decides it (one notice per entry and kind): a winner and an entry offered a unit later are asked to
pay by their deadline (inbox, and mail as ``notify`` sends it), every other entry that it was not
drawn and where it stands in the draw order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import DEFAULT_LANGUAGE, _, format_datetime, using
from app.models.auctions import NotificationKind
from app.models.draws import DrawEntry, EntryStatus
from app.models.drops import PurchaseRight
from app.models.members import Member
from app.notifications.service import notify, notify_many

CHUNK = 500  # notices inserted per statement


@dataclass(frozen=True)
class Drawn:
    """The product a notice is about."""

    id: int
    name: str


def results_link(product_id: int) -> str:
    return f"/products/{product_id}/draw"


def pay_link(right_id: int) -> str:
    return f"/me/purchases/{right_id}/pay"


async def _readers(db: AsyncSession, member_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """Each member's language (the shop's default when they chose none) and zone."""
    rows = await db.execute(
        select(Member.id, Member.language, Member.time_zone).where(Member.id.in_(sorted(set(member_ids))))
    )
    return {member_id: (language or DEFAULT_LANGUAGE, zone) for member_id, language, zone in rows}


async def tell_granted(
    db: AsyncSession, product: Drawn, granted: Sequence[tuple[DrawEntry, PurchaseRight]], *, later: bool
) -> None:
    """Each entry's purchase right: won in the draw, or (``later``) a unit a winner did not pay for."""
    readers = await _readers(db, [entry.member_id for entry, _right in granted])
    kind = NotificationKind.DRAW_OFFERED if later else NotificationKind.DRAW_WON
    for entry, right in granted:
        with using(*readers.get(entry.member_id, (DEFAULT_LANGUAGE, None))):
            values = {
                "product": product.name,
                "entry": entry.id,
                "amount": f"₩{right.unit_price:,}",
                "deadline": format_datetime(right.expires_at),
            }
            if later:
                text = _(
                    "A winner of the draw for %(product)s did not pay, so a unit is offered to your entry "
                    "#%(entry)s. Pay %(amount)s by %(deadline)s to take it.",
                    **values,
                )
            else:
                text = _(
                    "You won the draw for %(product)s with entry #%(entry)s. Pay %(amount)s by %(deadline)s "
                    "to keep it.",
                    **values,
                )
        await notify(
            db, entry.member_id, kind, text, pay_link(right.id), f"{kind.value}:{entry.id}", about=product.name
        )


async def tell_not_drawn(db: AsyncSession, product: Drawn) -> int:
    """Every entry the draw left behind, with its place in the draw order; how many were told."""
    rows = await db.execute(
        select(DrawEntry.id, DrawEntry.member_id, DrawEntry.place, Member.language, Member.time_zone)
        .join(Member, Member.id == DrawEntry.member_id)
        .where(DrawEntry.product_id == product.id, DrawEntry.status == EntryStatus.NOT_DRAWN)
        .order_by(DrawEntry.place)
    )
    notices: list[dict[str, Any]] = []
    for entry_id, member_id, place, language, zone in rows:
        with using(language or DEFAULT_LANGUAGE, zone):
            text = _(
                "Your entry #%(entry)s in the draw for %(product)s was not drawn: it is number %(place)s in "
                "the draw order. If a winner does not pay in time, the unit goes to the next entry in that order.",
                entry=entry_id,
                product=product.name,
                place=place,
            )
        notices.append(
            {
                "member_id": member_id,
                "kind": NotificationKind.NOT_DRAWN,
                "text": text,
                "link": results_link(product.id),
                "dedupe_key": f"{NotificationKind.NOT_DRAWN.value}:{entry_id}",
            }
        )
    for start in range(0, len(notices), CHUNK):
        await notify_many(db, notices[start : start + CHUNK])
    return len(notices)
