"""The in-app inbox. Notices are written in the transaction that caused them (one per subject:
a redelivered event adds nothing); after that transaction commits, the member's badge is
refreshed over their live channel. An auction or draw notice that asks for a payment (won, offered,
payment deadline near) also goes by email, through the mail outbox in the same transaction, to a
member who turned these emails on (``members.email_notices``)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.core.results import rows_changed
from app.db import database_of
from app.live.hub import touch_after_commit
from app.mail.service import queue_mail
from app.models.auctions import Notification, NotificationKind
from app.models.base import utcnow
from app.models.members import Member, MemberStatus
from app.web.pagination import Page, paginate


def channel_for(member_id: int) -> str:
    return f"member:{member_id}"


async def notify_many(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert notices (``member_id``, ``kind``, ``text``, ``link``, ``dedupe_key``), skipping any
    the member already has."""
    if not rows:
        return
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    values = [{**row, "kind": NotificationKind(row["kind"]).value, "created_at": now} for row in rows]
    await db.execute(insert(cast(Table, Notification.__table__)).on_conflict_do_nothing(), values)
    touch_after_commit(db, "member", *{row["member_id"] for row in rows})


# The notices that also come by email when the member asked for it.
MAILED = frozenset(
    {
        NotificationKind.WON,
        NotificationKind.OFFERED,
        NotificationKind.DEADLINE,
        NotificationKind.DRAW_WON,
        NotificationKind.DRAW_OFFERED,
    }
)


async def notify(
    db: AsyncSession,
    member_id: int,
    kind: NotificationKind,
    text: str,
    link: str,
    dedupe_key: str,
    *,
    about: str = "",
) -> None:
    """One notice (``about``: the product it concerns, for an email's subject)."""
    await notify_many(
        db, [{"member_id": member_id, "kind": kind, "text": text, "link": link, "dedupe_key": dedupe_key}]
    )
    if kind in MAILED:
        await _mail_notice(db, member_id, kind, text, link, dedupe_key, about)


async def _mail_notice(
    db: AsyncSession, member_id: int, kind: NotificationKind, text: str, link: str, dedupe_key: str, about: str
) -> None:
    row = (
        await db.execute(
            select(Member.email, Member.display_name, Member.language, Member.time_zone).where(
                Member.id == member_id, Member.email_notices, Member.status == MemberStatus.ACTIVE
            )
        )
    ).first()
    database = database_of(db)
    if row is None or database is None:
        return
    site = database.settings.site_url
    context = {"name": row.display_name, "text": text, "link": site + link, "product": about, "kind": kind.value}
    context["settings_link"] = f"{site}/me"
    key = f"notice:{member_id}:{dedupe_key}"
    await queue_mail(
        db,
        to=row.email,
        template="auction_notice",
        context=context,
        kind=kind.value,
        member_id=member_id,
        dedupe_key=key,
        language=row.language,
        zone=row.time_zone,
    )


async def unread_count(db: AsyncSession, member_id: int) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.member_id == member_id, Notification.read_at.is_(None))
        )
        or 0
    )


async def badge_state(db: AsyncSession, member_id: int) -> dict[str, Any]:
    return {"member_id": member_id, "unread": await unread_count(db, member_id)}


async def badge_states(db: AsyncSession, member_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The unread counts of many members in one grouped query."""
    rows = await db.execute(
        select(Notification.member_id, func.count())
        .where(Notification.member_id.in_(member_ids), Notification.read_at.is_(None))
        .group_by(Notification.member_id)
    )
    counts = {member_id: count for member_id, count in rows}
    return {m: {"member_id": m, "unread": int(counts.get(m, 0))} for m in member_ids}


async def mark_read(db: AsyncSession, member_id: int, notification_id: int | None = None) -> int:
    """Mark one notice (or all of them) read; returns how many changed."""
    stmt = update(Notification).where(Notification.member_id == member_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = await db.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    if rows_changed(result):
        touch_after_commit(db, "member", member_id)
    return rows_changed(result)


async def inbox(db: AsyncSession, member_id: int, number: int, size: int) -> Page[Notification]:
    """One page of the member's notices, newest first."""
    stmt = select(Notification).where(Notification.member_id == member_id).order_by(Notification.id.desc())
    return await paginate(db, stmt, number, size)


async def open_notice(db: AsyncSession, member_id: int, notification_id: int) -> str:
    """Mark the member's notice read and return where it leads; anyone else's is "not found"."""
    notice = await db.get(Notification, notification_id)
    if notice is None or notice.member_id != member_id:
        raise NotFound(_("This notification does not exist."))
    await mark_read(db, member_id, notice.id)
    return notice.link
