"""Mail jobs: mail a password reset link to whoever owns an address (the request that asked only
says "check your inbox"), send one queued mail through SMTP (retried with backoff while the server
does not take it), and the sweep that sends mail whose message was lost or whose tries failed."""

from __future__ import annotations

import logging

from app.accounts.resets import mail_link_to
from app.mail.service import deliver, unsent
from tasks import runtime
from tasks.broker import actor

log = logging.getLogger(__name__)
SWEEP_AFTER_SECONDS = 60.0


@actor(queue_name="mail", max_retries=3, min_backoff=500, max_backoff=10_000)
async def mail_reset_link(email: str, language: str | None = None) -> None:
    async with runtime.database().transaction() as db:
        await mail_link_to(db, email, language)


@actor(queue_name="mail", max_retries=8, min_backoff=2_000, max_backoff=600_000)
async def send_mail(mail_id: int) -> None:
    await deliver(runtime.database(), mail_id)


@actor(queue_name="mail", max_retries=0)
async def sweep_mail() -> None:
    """Mail not sent a minute after it was queued is sent again (once per sweep)."""
    if not runtime.settings().smtp_url:
        return
    async with runtime.database().transaction() as db:
        waiting = await unsent(db, older_than_seconds=SWEEP_AFTER_SECONDS)
    for mail_id in waiting:
        try:
            log.info("mail %s: %s", mail_id, await deliver(runtime.database(), mail_id))
        except Exception:
            log.warning("mail %s: the SMTP server did not take it; next sweep", mail_id, exc_info=True)


__all__ = ["mail_reset_link", "send_mail", "sweep_mail"]
