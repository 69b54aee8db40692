"""The mailer. ``queue_mail`` writes the message into the outbox in the caller's transaction and,
with ``SMTP_URL`` set, asks for its delivery once that transaction commits (never before, never
after a rollback); ``deliver`` sends one message through SMTP outside any transaction and marks it
sent; the mail sweep sends what a dead process or a failed server left. Without ``SMTP_URL`` the
outbox is where mail ends (``/dev/mail`` shows it in the embedded default or with DEBUG)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import current_language, using
from app.core.scheduling import send_mail
from app.db import Database, database_of
from app.mail.compose import compose
from app.mail.transport import SmtpServer
from app.models.base import utcnow
from app.models.mail import OutgoingMail
from app.web.pagination import Page, paginate

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
REDACTED = "(This message held a single-use link; its text was removed once it was sent.)"


async def queue_mail(
    db: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    kind: str | None = None,
    member_id: int | None = None,
    dedupe_key: str | None = None,
    sensitive: bool = False,
    language: str | None = None,
    zone: str | None = None,
) -> int | None:
    """Put the mail ``template`` rendered with ``context`` in the outbox for ``to`` (``kind``: what
    it is about, the template's name by default); its id, or None when a mail with ``dedupe_key``
    was queued before. The mail speaks the recipient's ``language`` (when the member chose none:
    the language of the request that sends it) and shows times in their ``zone``."""
    with using(language or current_language(), zone):
        text = compose(template, **context)
    values = {
        "member_id": member_id,
        "to_address": to,
        "kind": kind or template,
        "subject": text.subject[:200],
        "body": text.body,
        "dedupe_key": dedupe_key,
        "sensitive": sensitive,
        "attempts": 0,
        "created_at": utcnow(),
    }
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(cast(Table, OutgoingMail.__table__)).values(values).on_conflict_do_nothing()
    mail_id: int | None = await db.scalar(stmt.returning(OutgoingMail.__table__.c.id))
    database = database_of(db)
    if mail_id is not None and database is not None and database.settings.smtp_url and database.scheduler:
        send_mail(db, mail_id)  # after the commit; the sweep sends it if that message is lost
    return mail_id


def message_of(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    # The same id on every attempt: a mail sent twice (a crash between sending and recording it)
    # is one message to the reader's client.
    message["Message-ID"] = make_msgid(idstring=f"smore-mail-{mail.id}", domain=sender.rsplit("@", 1)[-1].strip(">"))
    message.set_content(mail.body)
    return message


async def deliver(database: Database, mail_id: int) -> str:
    """Send one queued mail: "sent", "settled" (sent before, or nothing to send with) — or raises,
    to be tried again (the error is kept on the row)."""
    settings = database.settings
    if not settings.smtp_url:
        return "settled"
    async with database.transaction() as db:
        mail = await db.get(OutgoingMail, mail_id)
        if mail is None or mail.sent_at is not None:
            return "settled"
        mail.attempts += 1
        message = message_of(mail, settings.mail_from)
    try:
        await SmtpServer.from_url(settings.smtp_url).send(message)
    except Exception as exc:
        async with database.transaction() as db:
            await db.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id)
                .values(last_error=f"{type(exc).__name__}: {exc}"[:500])
            )
        raise
    async with database.transaction() as db:
        await db.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, OutgoingMail.sent_at.is_(None))
            .values(sent_at=utcnow(), last_error=None)
        )
        # a secret (a reset link) does not stay in the database once it has left
        await db.execute(
            update(OutgoingMail).where(OutgoingMail.id == mail_id, OutgoingMail.sensitive).values(body=REDACTED)
        )
    return "sent"


async def unsent(db: AsyncSession, *, older_than_seconds: float, limit: int = 100) -> list[int]:
    """Mail still waiting this long after it was queued (its delivery message was lost, or every
    try so far failed), oldest first, leaving out mail that failed too often."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    stmt = (
        select(OutgoingMail.id)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.created_at < cutoff, OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def outbox_page(db: AsyncSession, number: int, size: int) -> Page[OutgoingMail]:
    """One page of the outbox, newest first (``/dev/mail``)."""
    return await paginate(db, select(OutgoingMail).order_by(OutgoingMail.id.desc()), number, size)
