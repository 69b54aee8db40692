"""The demo seed's accounts can enter draws: their addresses are confirmed (none is mailed a link),
and a demo account seeded before addresses were confirmed is confirmed by the next run."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.confirmations import KIND
from app.models.members import Member
from app.seed import DEMO_ACCOUNTS, seed
from tests.helpers.mail import outbox


async def test_the_demo_accounts_are_confirmed_without_a_mail(app, settings, members):
    early = await members.create("shopper@smore.test", confirmed=False)  # an older seed's account
    assert early.email_confirmed_at is None
    await seed(settings)
    await seed(settings)  # a second run changes nothing
    emails = [email for email, _name, _role in DEMO_ACCOUNTS]
    async with app.state.database.transaction() as db:
        demo = list(await db.scalars(select(Member).where(Member.email.in_(emails))))
    assert sorted(m.email for m in demo) == sorted(emails)
    assert all(m.email_confirmed_at is not None for m in demo)
    # only the older account's own sign-up mailed a link
    assert [mail.to_address for mail in await outbox(app, kind=KIND)] == ["shopper@smore.test"]
