"""The mailer: through SMTP when SMTP_URL is set (a real local SMTP server here, with a login),
retried when the server does not take it; the outbox shown at /dev/mail only in the embedded
default or with DEBUG; auction notices mailed to members who turned auction emails on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.mail.service import REDACTED
from app.models.base import utcnow
from app.models.members import Member
from app.models.orders import Order
from tasks.auctions import close_now, sweep
from tests.helpers.auctions import end_now, live_auction
from tests.helpers.mail import SmtpSink, outbox, reset_path
from tests.helpers.waiting import wait_for
from tests.helpers.web import login, place, post_form

LOGIN = ("smore-mailer", "mail-secret")
# The local test server takes a login without TLS (a real server is reached with smtp+starttls or smtps).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def sink():
    with SmtpSink(login=LOGIN) as server:
        yield server


@pytest.fixture
def settings(settings, sink):
    return settings.with_changes(smtp_url=sink.url, debug=True, public_url="https://shop.example.test")


async def sent(app, email: str):
    async def check():
        mails = await outbox(app, email)
        return mails if mails and all(m.sent_at for m in mails) else None

    return await wait_for(check, 15, f"the mail to {email} to be sent")


async def test_a_reset_mail_goes_out_through_smtp_after_the_commit(client, members, app, sink, settings):
    member = await members.create("smtp@example.test")
    assert (await post_form(client, "/password/forgot", {"email": member.email})).status_code == 303
    (mail,) = await sent(app, member.email)
    assert mail.attempts == 1 and mail.last_error is None
    assert mail.body == REDACTED  # the link does not stay in the database once it left
    assert sink.logins == [LOGIN[0]]
    ((sender, recipients, message),) = sink.messages
    assert sender == "no-reply@smore.test" and recipients == [member.email]
    assert message["Subject"] == "Reset your Smore password" and message["From"] == settings.mail_from
    assert message["Message-ID"] and f"smore-mail-{mail.id}" in message["Message-ID"]
    body = message.get_payload(decode=True).decode()
    path = reset_path(body)
    assert f"https://shop.example.test{path}" in body  # the configured address, never the Host header
    assert (await client.get(path)).status_code == 200


@pytest.mark.slow
async def test_a_mail_the_server_refused_is_sent_again(client, members, app, sink):
    sink.__exit__()  # the SMTP server is down when the mail is queued
    member = await members.create()
    assert (await post_form(client, "/password/forgot", {"email": member.email})).status_code == 303

    async def failed():
        mails = await outbox(app, member.email)
        return mails if mails and mails[0].last_error else None

    (mail,) = await wait_for(failed, 15, "the SMTP failure to be recorded")
    assert mail.sent_at is None and mail.attempts == 1 and "Error" in mail.last_error
    with SmtpSink(login=LOGIN, port=sink.port) as back:  # Dramatiq retries with backoff
        (mail,) = await sent(app, member.email)
        assert mail.attempts >= 2 and [m[1] for m in back.messages][:1] == [[member.email]]


async def test_dev_mail_shows_the_outbox_with_debug(client, members, app):
    assert "No mail yet" in (await client.get("/dev/mail")).text
    member = await members.create("devmail@example.test")
    await post_form(client, "/password/forgot", {"email": member.email})
    await sent(app, member.email)
    page = await client.get("/dev/mail")
    assert page.status_code == 200 and "devmail@example.test" in page.text
    assert "Reset your Smore password" in page.text


async def email_notices(client, on: bool):
    data = {"email_notices": "yes"} if on else {}
    r = await post_form(client, "/me/emails", data)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    return await client.get("/me")


async def test_the_email_setting_is_off_by_default_and_kept(client, members):
    member = await members.create()
    await login(client, member.email)
    page = await client.get("/me")
    assert 'name="email_notices"' in page.text and 'value="yes" checked' not in page.text.replace("\n", "")
    assert not (await members.get(member.id)).email_notices
    page = await email_notices(client, True)
    assert "Auction emails are on." in page.text and (await members.get(member.id)).email_notices
    page = await email_notices(client, False)
    assert "Auction emails are off." in page.text and not (await members.get(member.id)).email_notices


async def test_won_and_deadline_notices_are_mailed_to_members_who_asked(client, members, products, app):
    auction = await live_auction(app, members, products, units=2)
    keen, quiet = await members.create("keen@example.test"), await members.create("quiet@example.test")
    await login(client, keen.email)
    await email_notices(client, True)
    assert (await place(client, auction.id, "15000")).status_code == 200
    await login(client, quiet.email)
    assert (await place(client, auction.id, "12000")).status_code == 200
    await end_now(app, auction.id)
    assert await close_now(auction.id)
    (won,) = await sent(app, keen.email)
    assert won.kind == "won" and won.subject.startswith("You won ")
    assert "₩15,000" in won.body and "https://shop.example.test/orders/" in won.body
    assert await outbox(app, quiet.email) == []  # the inbox only
    # the payment deadline comes near: the sweep reminds, by mail too, once
    async with app.state.database.transaction() as db:
        await db.execute(
            update(Order)
            .where(Order.member_id.in_([keen.id, quiet.id]))
            .values(pay_by=utcnow() + timedelta(minutes=30))
        )
    await sweep()
    await sweep()
    won, deadline = await sent(app, keen.email)
    assert deadline.kind == "deadline" and "deadline" in deadline.subject and "minutes" in deadline.body
    assert await outbox(app, quiet.email) == []
    async with app.state.database.transaction() as db:
        assert (await db.scalar(select(Member.email_notices).where(Member.id == keen.id))) is True
