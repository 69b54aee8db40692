"""Account use cases. Services flush; the request commits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import ColumnElement, Select, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts import rules
from app.accounts.confirmations import mail_confirmation
from app.accounts.name_rules import clean_display_name
from app.accounts.passwords import PasswordHasher
from app.audit import record_audit
from app.core.errors import DomainError, FormInvalid
from app.core.i18n import LANGUAGES, Msg, _, is_zone
from app.core.status import Aggregate, Move, created, move, register
from app.db import add_once, one_of
from app.models.base import utcnow
from app.models.members import Member, MemberRole, MemberStatus

# Said next to the email field, by the sign-up and by its inline check; the page links "Sign in".
EMAIL_TAKEN = Msg("An account with this email already exists. Sign in instead?")


def _member_values(step: Move[MemberStatus]) -> dict[str, object]:
    """Suspension and withdrawal keep their reason (shown at sign-in); withdrawal its time."""
    values: dict[str, object] = {"status_reason": step.reason if step.target is not MemberStatus.ACTIVE else None}
    if step.target is MemberStatus.WITHDRAWN:
        values["withdrawn_at"] = step.now
    return values


MEMBER = register(Aggregate("member", Member, rules.MEMBER_STATUS, values=_member_values))


class LoginRefused(DomainError):
    pass


class WrongPassword(LoginRefused):
    """No member with this email and password (the one refusal the login throttle counts)."""


class AccountService:
    def __init__(self, db: AsyncSession, hasher: PasswordHasher) -> None:
        self.db = db
        self.hasher = hasher

    async def by_email(self, email: str) -> Member | None:
        email = rules.normalise_email(email)
        return (await self.db.execute(select(Member).where(func.lower(Member.email) == email))).scalar_one_or_none()

    async def email_taken(self, email: str) -> bool:
        return await self.by_email(email) is not None

    async def sign_up(
        self,
        email: str,
        display_name: str,
        password: str,
        password_confirm: str,
        role: MemberRole = MemberRole.SHOPPER,
        *,
        confirmed: bool = False,
    ) -> Member:
        """A new active member, mailed a link to confirm their address (in the request's language);
        ``confirmed``: the address is known to be theirs already (the demo seed's accounts), so it
        is confirmed now and nothing is mailed."""
        email = rules.normalise_email(email)
        display_name = clean_display_name(display_name)
        staff = role is MemberRole.ADMIN  # the shop's own accounts may speak for it
        errors = rules.signup_errors(email, display_name, password, password_confirm, staff=staff)
        if "email" not in errors and await self.email_taken(email):
            errors["email"] = str(EMAIL_TAKEN)
        if errors:
            raise FormInvalid(errors)
        member = Member(
            email=email,
            display_name=display_name,
            password_hash=await self.hasher.hash(password),
            role=role,
            status=MemberStatus.ACTIVE,
            email_confirmed_at=utcnow() if confirmed else None,
        )
        if not await add_once(self.db, member):  # a concurrent sign-up took the email between check and insert
            raise FormInvalid({"email": str(EMAIL_TAKEN)})
        created(self.db, member, reason="signed up", actor=member)
        if not confirmed:
            await mail_confirmation(self.db, member)
        return member

    async def authenticate(self, email: str, password: str) -> Member:
        if err := rules.overlong_password_error(password):
            raise LoginRefused(err)
        member = await self.by_email(email) if email else None
        ok = await self.hasher.verify(password, member.password_hash if member else None)
        if member is None or not ok:
            raise WrongPassword(_("Wrong email or password."))
        if member.status is MemberStatus.WITHDRAWN:
            raise LoginRefused(_("This account was withdrawn and can no longer sign in."))
        if member.status is MemberStatus.SUSPENDED:
            if member.status_reason:
                raise LoginRefused(_("This account is suspended. Reason: %(reason)s", reason=member.status_reason))
            raise LoginRefused(_("This account is suspended."))
        return member

    async def update_profile(self, member: Member, display_name: str) -> Member:
        display_name = clean_display_name(display_name)
        if err := rules.display_name_error(display_name, staff=member.role is MemberRole.ADMIN):
            raise FormInvalid({"display_name": err})
        member.display_name = display_name
        await self.db.flush()
        return member

    async def change_password(self, member: Member, old: str, new: str, confirm: str) -> None:
        errors: dict[str, str] = {}
        if err := rules.overlong_password_error(old):
            errors["old_password"] = err
        elif not await self.hasher.verify(old, member.password_hash):
            errors["old_password"] = _("This is not your current password.")
        errors |= rules.new_password_errors(
            new, confirm, email=member.email, display_name=member.display_name, field="new_password"
        )
        if errors:
            raise FormInvalid(errors)
        member.password_hash = await self.hasher.hash(new)
        await self.db.flush()
        await end_sessions(self.db, member)

    async def set_language(self, member: Member, language: str) -> None:
        """The member's language for pages and mails (``ko`` or ``en``)."""
        if language not in LANGUAGES:
            raise FormInvalid({"language": _("Choose 한국어 or English.")})
        member.language = language
        await self.db.flush()

    async def set_place(self, member: Member, language: str, time_zone: str) -> None:
        """The member's language and the time zone every time is shown and read in."""
        errors: dict[str, str] = {}
        if language not in LANGUAGES:
            errors["language"] = _("Choose 한국어 or English.")
        if not is_zone(time_zone):
            errors["time_zone"] = _("Choose a time zone from the list.")
        if errors:
            raise FormInvalid(errors)
        member.language, member.time_zone = language, time_zone
        await self.db.flush()

    async def set_email_notices(self, member: Member, on: bool) -> None:
        """Auction notices (won, offered, payment deadline near) by email too, or only in the inbox."""
        member.email_notices = on
        await self.db.flush()

    async def withdraw(self, member: Member, password: str, confirmed: bool) -> None:
        """Soft delete: the row, its email and everything that refers to it stay."""
        errors: dict[str, str] = {}
        if not confirmed:
            errors["confirm"] = _("Tick the box to confirm that you want to withdraw.")
        if err := rules.overlong_password_error(password):
            errors["password"] = err
        elif not await self.hasher.verify(password, member.password_hash):
            errors["password"] = _("This is not your current password.")
        if errors:
            raise FormInvalid(errors)
        await set_member_status(self.db, member, MemberStatus.WITHDRAWN, actor=member, reason="withdrawn by member")


async def set_member_status(
    db: AsyncSession, member: Member, target: MemberStatus, *, actor: Member, reason: str
) -> None:
    """A member's status moves through the status core, with its line in the moderation audit log."""
    action = {
        MemberStatus.SUSPENDED: "member.suspend",
        MemberStatus.ACTIVE: "member.unsuspend",
        MemberStatus.WITHDRAWN: "member.withdraw",
    }[target]
    await move(db, member, target, actor=actor, reason=reason)
    await record_audit(db, actor=actor, action=action, target=member, reason=reason)
    if target is not MemberStatus.ACTIVE:
        await end_sessions(db, member)  # lifting a suspension later brings no old session back


async def end_sessions(db: AsyncSession, member: Member) -> None:
    """End every session of ``member``, on every store, at its next request: the member's session
    generation goes up by one in one statement, and only a session signed in with the new one is
    valid (``app.accounts.identity``). The caller signs the current browser in again to keep it."""
    generation = await db.scalar(
        update(Member)
        .where(Member.id == member.id)
        .values(session_generation=Member.session_generation + 1)
        .returning(Member.session_generation)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(member, "session_generation", generation)


async def active_generations(db: AsyncSession, member_ids: Iterable[int]) -> dict[int, int]:
    """The current session generation of each of ``member_ids`` that is still active (the others
    are left out): what a Buy press or a bid, which skip loading the member, are checked against."""
    rows = await db.execute(active_generations_query(lambda column: one_of(db, column, member_ids)))
    return {member_id: generation for member_id, generation in rows}


def active_generations_query(
    members: Callable[[ColumnElement[int]], ColumnElement[bool]],
) -> Select[int, int]:
    """The SELECT behind ``active_generations`` (member id, generation) of the members whose id
    ``members`` picks, for statements that read it beside other rows."""
    table = cast(Table, Member.__table__)  # Core columns: the ORM's steps are of no use to this read
    return select(table.c.id, table.c.session_generation).where(
        members(table.c.id), table.c.status == MemberStatus.ACTIVE
    )
