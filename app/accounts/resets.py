"""Forgot password: a link by email that works once, for ``password_reset_seconds`` (30 minutes).

Only the SHA-256 of a link's token is stored; the token itself is in the mail alone (whose text is
removed from the outbox once SMTP has taken it). Asking gives the same answer whether or not the
email belongs to a member, in the same time: the request only checks the address's form and, after
its commit, hands it to the queue, whose job (``mail_link_to``) looks the member up and mails the
link. Using a link is one conditional UPDATE (still open, not expired), so it works once even when
two tabs send it together; it sets the new password, closes the member's other links and ends
every session of the member."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import rules
from app.accounts.passwords import PasswordHasher
from app.accounts.service import end_sessions
from app.core.errors import DomainError, FormInvalid
from app.core.i18n import Msg, current_language
from app.core.results import rows_changed
from app.core.scheduling import send_password_reset
from app.db import database_of
from app.mail.service import queue_mail
from app.models.base import UTCDateTime, utcnow
from app.models.members import Member, MemberStatus, PasswordReset

# At most this many links are mailed to one member per link lifetime (no mail bombing).
LINKS_PER_LIFETIME = 3
TOKEN_MAX = 100


class LinkInvalid(DomainError):
    """The link is unknown, used or expired (the page does not say which)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def issue_link(
    db: AsyncSession,
    member: Member,
    *,
    template: str = "password_reset",
    cap: int | None = None,
    language: str | None = None,
) -> bool:
    """Mail ``member`` a new reset link (``template``: the mail that carries it) — unless ``cap``
    links were made for them within a link's lifetime: then False, and nothing is written. The
    count and the insert are one statement, so asks that arrive together cannot pass the cap."""
    database = database_of(db)
    if database is None:
        raise RuntimeError("a reset link needs the app's Database (its settings name the site)")
    settings = database.settings
    token = secrets.token_urlsafe(32)
    lifetime = settings.password_reset_seconds
    now = utcnow()
    row = select(
        literal(member.id),
        literal(token_hash(token)),
        literal(now + timedelta(seconds=lifetime), UTCDateTime()),
        literal(now, UTCDateTime()),
    )
    if cap is not None:
        made = select(func.count()).select_from(PasswordReset)
        made = made.where(
            PasswordReset.member_id == member.id, PasswordReset.created_at > now - timedelta(seconds=lifetime)
        )
        row = row.where(made.scalar_subquery() < cap)
    columns = ["member_id", "token_hash", "expires_at", "created_at"]
    if not rows_changed(await db.execute(insert(PasswordReset).from_select(columns, row))):
        return False
    context = {
        "name": member.display_name,
        "link": f"{settings.site_url}/password/reset/{token}",
        "minutes": max(1, lifetime // 60),
        "forgot": f"{settings.site_url}/password/forgot",
    }
    await queue_mail(
        db,
        to=member.email,
        template=template,
        context=context,
        member_id=member.id,
        sensitive=True,
        language=member.language or language,
        zone=member.time_zone,
    )
    return True


async def close_links(db: AsyncSession, member_id: int) -> None:
    """Every open link of the member stops working (used: a new password was set)."""
    await db.execute(
        update(PasswordReset)
        .where(PasswordReset.member_id == member_id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )


class PasswordResets:
    def __init__(self, db: AsyncSession, hasher: PasswordHasher) -> None:
        self.db = db
        self.hasher = hasher

    async def ask(self, email: str) -> None:
        """Have a link mailed if ``email`` is an active member's, after the commit; nothing says
        whether it is. A malformed address is refused inline."""
        email = rules.normalise_email(email)
        if err := rules.email_error(email):
            raise FormInvalid({"email": err})
        send_password_reset(self.db, email, current_language())

    async def open_link(self, token: str) -> PasswordReset:
        """The open link ``token`` names, or ``LinkInvalid``."""
        if not token or len(token) > TOKEN_MAX:
            raise LinkInvalid(str(_INVALID))
        link = await self.db.scalar(
            select(PasswordReset).where(
                PasswordReset.token_hash == token_hash(token),
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > utcnow(),
            )
        )
        if link is None:
            raise LinkInvalid(str(_INVALID))
        return link

    async def use_link(self, token: str, new: str, confirm: str) -> Member:
        """Set the new password through the link (once), end every session of the member."""
        link = await self.open_link(token)
        member = await self.db.get(Member, link.member_id)
        if member is None or member.status is not MemberStatus.ACTIVE:
            raise LinkInvalid(str(_INVALID))
        errors = rules.new_password_errors(new, confirm, email=member.email, display_name=member.display_name)
        if errors:
            raise FormInvalid(errors)
        taken = await self.db.execute(
            update(PasswordReset)
            .where(PasswordReset.id == link.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > utcnow())
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not rows_changed(taken):  # another request used it a moment ago
            raise LinkInvalid(str(_INVALID))
        member.password_hash = await self.hasher.hash(new)
        await self.db.flush()
        await close_links(self.db, member.id)
        await end_sessions(self.db, member)
        return member


async def mail_link_to(db: AsyncSession, email: str, language: str | None = None) -> bool:
    """The queue's half of asking: mail a link if ``email`` is an active member's who was mailed
    fewer than ``LINKS_PER_LIFETIME`` links within a link's lifetime (the member's row is locked
    first on PostgreSQL, whose statements each see the commits before them; on SQLite the writer's
    lock covers the counting insert). True when a link was mailed."""
    member = await db.scalar(select(Member).where(func.lower(Member.email) == email).with_for_update())
    if member is None or member.status is not MemberStatus.ACTIVE:
        return False
    return await issue_link(db, member, cap=LINKS_PER_LIFETIME, language=language)


_INVALID = Msg("This reset link has expired or was already used. Ask for a new one below.")
