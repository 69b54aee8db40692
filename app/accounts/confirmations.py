"""Confirming a member's email address: a signed link mailed at sign-up (and again on asking, at
most once a minute), which works for ``email_confirm_hours`` (48) and sets
``members.email_confirmed_at`` once. A draw takes entries only from confirmed accounts.

Nothing is stored for a link: its token is signed (``confirm_rules``) and names the member and the
address it was mailed to, so it confirms only that address. Opening the link changes nothing (mail
scanners open links); its page's button posts the confirmation, one conditional UPDATE, so a second
use (or two tabs at once) finds the address confirmed already. The mails sent are the outbox's
rows, which is also what the once-a-minute limit reads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts import confirm_rules
from app.accounts.confirm_rules import LinkProblem
from app.core.errors import DomainError
from app.core.i18n import Msg, ngettext
from app.core.results import rows_changed
from app.db import database_of
from app.mail.service import queue_mail
from app.models.base import utcnow
from app.models.mail import OutgoingMail
from app.models.members import Member, MemberStatus
from app.settings import Settings

KIND = "email_confirm"  # the outbox's kind (and the template's name) of a confirmation mail
RESEND_INTERVAL = timedelta(minutes=1)

_INVALID = Msg(
    "This confirmation link is not valid. Open the link in the mail exactly as it is, "
    "or ask for a new one on your account page."
)
_EXPIRED = Msg("This confirmation link has expired. Ask for a new one on your account page.")
_ALREADY = Msg("Your email address is already confirmed.")


class LinkRefused(DomainError):
    """The link confirms nothing: ``problem`` says whether it is not one of the shop's (or names a
    member or address that is no longer there) or has expired."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(str(_EXPIRED if problem is LinkProblem.EXPIRED else _INVALID))
        self.problem = problem


class AlreadyConfirmed(DomainError):
    def __init__(self) -> None:
        super().__init__(str(_ALREADY))


class TooSoon(DomainError):
    """A link was mailed less than ``RESEND_INTERVAL`` ago; ``seconds`` until the next may go."""

    def __init__(self, seconds: int) -> None:
        super().__init__(
            ngettext(
                "A link was mailed to you less than a minute ago. You can ask for another in %(num)s second.",
                "A link was mailed to you less than a minute ago. You can ask for another in %(num)s seconds.",
                seconds,
            )
        )
        self.seconds = seconds


def _settings(db: AsyncSession) -> Settings:
    database = database_of(db)
    if database is None:
        raise RuntimeError("a confirmation link needs the app's Database (its settings name the site)")
    return database.settings


def confirmation_token(settings: Settings, member: Member) -> str:
    """A new token confirming ``member``'s current address, valid ``email_confirm_hours``."""
    expires_at = utcnow() + timedelta(hours=settings.email_confirm_hours)
    return confirm_rules.sign_confirmation(
        confirm_rules.signing_key(settings.secret_key), member.id, member.email, expires_at
    )


async def mail_confirmation(db: AsyncSession, member: Member, *, language: str | None = None) -> None:
    """Queue the mail with a confirmation link to ``member``'s address, in their language (none
    chosen: ``language``, or the request's)."""
    settings = _settings(db)
    context = {
        "name": member.display_name,
        "link": f"{settings.site_url}/account/confirm?token={confirmation_token(settings, member)}",
        "hours": settings.email_confirm_hours,
        "account": f"{settings.site_url}/me",
    }
    await queue_mail(
        db,
        to=member.email,
        template=KIND,
        context=context,
        member_id=member.id,
        sensitive=True,
        language=member.language or language,
        zone=member.time_zone,
    )


class EmailConfirmations:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    def _key(self) -> bytes:
        return confirm_rules.signing_key(_settings(self.db).secret_key)

    async def open_link(self, token: str) -> Member:
        """The member whose current address ``token`` confirms (confirmed already or not), or
        ``LinkRefused``. Changes nothing."""
        read = confirm_rules.read_confirmation(self._key(), token, utcnow())
        if isinstance(read, LinkProblem):
            raise LinkRefused(read)
        member = await self.db.get(Member, read.member_id)
        if member is None or member.status is not MemberStatus.ACTIVE:
            raise LinkRefused(LinkProblem.INVALID)
        if not confirm_rules.confirms_address(read, member.email):  # mailed to an address since changed
            raise LinkRefused(LinkProblem.INVALID)
        return member

    async def confirm(self, token: str) -> tuple[Member, bool]:
        """Confirm the address ``token`` names: the member, and whether this confirmed it (False:
        it was confirmed before, by this link or another)."""
        member = await self.open_link(token)
        now = utcnow()
        done = await self.db.execute(
            update(Member)
            .where(Member.id == member.id, Member.email == member.email, Member.email_confirmed_at.is_(None))
            .values(email_confirmed_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_changed(done):
            set_committed_value(member, "email_confirmed_at", now)
            return member, True
        await self.db.refresh(member, attribute_names=["email_confirmed_at"])
        return member, False

    async def resend(self, member: Member) -> int:
        """Mail ``member`` a new link and answer the hours it works, unless their address is
        confirmed (``AlreadyConfirmed``) or a link went less than a minute ago (``TooSoon``). The
        member's row is locked first (a write that changes nothing: the row lock on PostgreSQL, the
        write lock on SQLite), so asks that arrive together mail one link."""
        if member.email_confirmed_at is not None:
            raise AlreadyConfirmed
        confirmed_at = await self.db.scalar(
            update(Member)
            .where(Member.id == member.id)
            .values(email_confirmed_at=Member.email_confirmed_at)
            .returning(Member.email_confirmed_at)
            .execution_options(synchronize_session=False)
        )
        if confirmed_at is not None:  # a link was used a moment ago
            set_committed_value(member, "email_confirmed_at", confirmed_at)
            raise AlreadyConfirmed
        last_sent = await self.db.scalar(
            select(func.max(OutgoingMail.created_at)).where(
                OutgoingMail.member_id == member.id, OutgoingMail.kind == KIND
            )
        )
        if wait := confirm_rules.resend_wait(last_sent, utcnow(), RESEND_INTERVAL):
            raise TooSoon(wait)
        await mail_confirmation(self.db, member)
        return _settings(self.db).email_confirm_hours
