"""Confirming a member's email address: sign-up mails a signed link (in the member's language) whose
page's button confirms the address once, signed in or out; opening the link changes nothing; bad,
expired and tampered links are a 4xx page that changes nothing; the account page says whether the
address is confirmed and mails the link again, at most once a minute."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from app.accounts.confirm_rules import read_confirmation, sign_confirmation, signing_key
from app.accounts.confirmations import KIND
from app.accounts.service import set_member_status
from app.models.base import utcnow
from app.models.mail import OutgoingMail
from app.models.members import Member, MemberStatus
from tests.helpers.config import with_settings
from tests.helpers.factories import PASSWORD
from tests.helpers.mail import confirm_path, outbox
from tests.helpers.web import login, post_form, second_browser

EMAIL = "new@example.test"
_TOKEN = re.compile(r'name="token" value="([^"]*)"')
_MAIL_LINK = re.compile(r'<a class="mail-link" href="([^"]+)"')


async def sign_up(client, email: str = EMAIL, **headers: str):
    data = {"email": email, "display_name": "Newbie", "password": PASSWORD, "password_confirm": PASSWORD}
    r = await post_form(client, "/signup", data, headers=headers or None)
    assert r.status_code == 303, r.text
    return r


async def confirm_mails(app, email: str) -> list[OutgoingMail]:
    return await outbox(app, email, kind=KIND)


async def confirmed_at(members, member_id: int):
    return (await members.get(member_id)).email_confirmed_at


def token_of(path: str) -> str:
    return path.split("token=", 1)[1]


async def press_confirm(browser, token: str):
    return await post_form(browser, "/account/confirm", {"token": token})


def html_page(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("text/html")
    return unescape(r.text)


async def test_sign_up_mails_a_link_whose_page_confirms_the_address_once(client, app, members, settings):
    await sign_up(client)
    (mail,) = await outbox(app, EMAIL)  # the confirmation, and nothing else
    assert mail.kind == KIND and mail.sensitive
    assert mail.subject == "Confirm your email address for Smore"
    assert "Hello Newbie," in mail.body and "The link works for 48 hours." in mail.body
    assert "Draws take entries only from members whose email address is confirmed." in mail.body
    path = confirm_path(mail.body)
    assert f"{settings.site_url}{path}" in mail.body
    if settings.embedded:  # the dev mailbox shows the mail and links to its page
        mailbox = await client.get("/dev/mail")
        assert any(unescape(link).endswith(path) for link in _MAIL_LINK.findall(mailbox.text))
    member_id = mail.member_id
    me = html_page(await client.get("/me"), 200)
    assert "Not confirmed" in me and "Send the link again" in me
    assert "Draws take entries only from members whose email address is confirmed." in me

    # opening the link (a mail scanner does) shows a button and changes nothing
    for _ in range(2):
        page = html_page(await client.get(path), 200)
        assert f"confirm that {EMAIL} is your address" in page and "Confirm my email address" in page
        assert _TOKEN.search(page).group(1) == token_of(path)
    assert await confirmed_at(members, member_id) is None

    r = await press_confirm(client, token_of(path))
    assert r.status_code == 303 and r.headers["location"] == "/me"
    me = html_page(await client.get("/me"), 200)
    assert f"Thank you: {EMAIL} is confirmed." in me
    assert "Confirmed" in me and "Not confirmed" not in me and "Send the link again" not in me
    first = await confirmed_at(members, member_id)
    assert first is not None and utcnow() - first < timedelta(minutes=1)

    # a second use says so and changes nothing; so does opening the link again
    again = html_page(await press_confirm(client, token_of(path)), 200)
    assert f"{EMAIL} is already confirmed." in again and 'name="token"' not in again
    opened = html_page(await client.get(path), 200)
    assert "is already confirmed" in opened and "Confirm my email address" not in opened
    assert await confirmed_at(members, member_id) == first
    assert len(await outbox(app, EMAIL)) == 1


async def test_the_link_works_signed_out_and_signed_in_as_someone_else(client, app, members):
    member = await members.create("later@example.test", confirmed=False)
    (mail,) = await confirm_mails(app, member.email)  # mailed as a sign-up through the page is
    path = confirm_path(mail.body)
    assert html_page(await client.get(path), 200)  # signed out: the page and its button
    r = await press_confirm(client, token_of(path))
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "Thank you: later@example.test is confirmed." in (await client.get("/login")).text
    assert await confirmed_at(members, member.id) is not None

    other = await members.create(confirmed=False)
    (mail,) = await confirm_mails(app, other.email)
    await login(client, member.email)  # another member's browser opens the link
    r = await press_confirm(client, token_of(confirm_path(mail.body)))
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await confirmed_at(members, other.id) is not None


async def test_the_mail_and_the_pages_speak_korean(client, app, members):
    await sign_up(client, "hangul@example.test", **{"accept-language": "ko-KR,ko;q=0.9"})
    (mail,) = await confirm_mails(app, "hangul@example.test")
    assert mail.subject == "스모어 이메일 주소를 인증해 주세요"
    assert "Newbie님, 안녕하세요." in mail.body and "링크는 48시간 동안 사용할 수 있어요." in mail.body
    assert "응모 추첨에는 이메일 주소를 인증한 회원만 응모할 수 있어요." in mail.body
    assert "Please confirm" not in mail.body and "Hello" not in mail.body  # no English left
    korean = {"accept-language": "ko"}
    page = html_page(await client.get(confirm_path(mail.body), headers=korean), 200)
    assert "이메일 주소 인증하기" in page
    me = html_page(await client.get("/me", headers=korean), 200)
    assert "인증 전" in me and "링크 다시 보내기" in me

    # a member who chose Korean gets Korean mail whatever the browser asking says
    member = await members.create("chosen@example.test", confirmed=False)
    await login(client, member.email)
    assert (await post_form(client, "/me/place", {"language": "ko", "time_zone": "Asia/Seoul"})).status_code == 303
    await _age_mails(app, member.id)
    r = await post_form(client, "/me/confirmation", headers={"accept-language": "en"})
    assert r.status_code == 303
    assert "새 링크를 보냈어요. 48시간 동안 사용할 수 있어요." in (await client.get("/me")).text
    last = (await confirm_mails(app, member.email))[-1]
    assert last.subject == "스모어 이메일 주소를 인증해 주세요"


async def _age_mails(app, member_id: int, seconds: int = 61) -> None:
    """The member's confirmation mails were queued ``seconds`` earlier than they were."""
    async with app.state.database.transaction() as db:
        mails = await db.scalars(
            select(OutgoingMail).where(OutgoingMail.member_id == member_id, OutgoingMail.kind == KIND)
        )
        for mail in mails:
            mail.created_at -= timedelta(seconds=seconds)


async def test_the_link_is_mailed_again_at_most_once_a_minute(client, app, members):
    member = await members.create("again@example.test", confirmed=False)
    await login(client, member.email)
    assert len(await confirm_mails(app, member.email)) == 1
    # the sign-up's link went a moment ago
    r = await post_form(client, "/me/confirmation")
    page = html_page(r, 429)
    assert 0 < int(r.headers["retry-after"]) <= 60
    error = re.search(r'<p class="error" id="e-confirmation"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "less than a minute ago" in error and "You can ask for another in" in error
    assert len(await confirm_mails(app, member.email)) == 1

    await _age_mails(app, member.id)
    r = await post_form(client, "/me/confirmation")
    assert r.status_code == 303 and r.headers["location"] == "/me"
    assert "We mailed a new link to again@example.test. It works for 48 hours." in (await client.get("/me")).text
    first, second = await confirm_mails(app, member.email)
    assert second.subject == "Confirm your email address for Smore"
    assert html_page(await post_form(client, "/me/confirmation"), 429)
    assert len(await confirm_mails(app, member.email)) == 2

    # the new link confirms; then there is nothing to send
    assert (await press_confirm(client, token_of(confirm_path(second.body)))).status_code == 303
    await _age_mails(app, member.id)
    r = await post_form(client, "/me/confirmation")
    assert r.status_code == 303
    assert "Your email address is already confirmed." in (await client.get("/me")).text
    assert len(await confirm_mails(app, member.email)) == 2
    # the old link, still within its time, finds the address confirmed
    assert "is already confirmed" in html_page(await press_confirm(client, token_of(confirm_path(first.body))), 200)


async def test_asks_at_the_same_moment_mail_one_link(client, app, members):
    member = await members.create(confirmed=False)
    await _age_mails(app, member.id)
    await login(client, member.email)

    async def ask(_n: int):
        async with second_browser(client) as tab:
            tab.cookies.update(client.cookies)
            return await post_form(tab, "/me/confirmation")

    answers = await asyncio.gather(*(ask(n) for n in range(6)))
    assert sorted(r.status_code for r in answers) == [303] + [429] * 5
    assert len(await confirm_mails(app, member.email)) == 2


async def test_asking_again_needs_a_signed_in_member(client, app, members):
    member = await members.create(confirmed=False)
    r = await post_form(client, "/me/confirmation")
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    assert (await client.get("/me/confirmation")).headers["location"].startswith("/login")
    assert len(await confirm_mails(app, member.email)) == 1


async def test_a_confirmed_member_sees_so_and_no_button(client, members):
    member = await members.create()
    await login(client, member.email)
    me = html_page(await client.get("/me"), 200)
    assert f"{member.email} · " in me and "Confirmed" in me and "confirmed on" in me
    assert "Not confirmed" not in me and 'action="/me/confirmation"' not in me
    assert "Draws take entries only from members whose email address is confirmed." in me
    assert (await client.get("/me/confirmation")).headers["location"] == "/me"


def _forged(settings, member_id: int, email: str, *, hours: float = 48, secret: str | None = None) -> str:
    key = signing_key(secret or settings.secret_key)
    return sign_confirmation(key, member_id, email, utcnow() + timedelta(hours=hours))


async def _withdrawn(app, members):
    gone = await members.create(confirmed=False)
    async with app.state.database.transaction() as db:
        row = await db.get(Member, gone.id)
        await set_member_status(db, row, MemberStatus.WITHDRAWN, actor=row, reason="test")
    return gone


async def test_bad_expired_and_tampered_links_are_refused_and_change_nothing(client, app, members, settings):
    member = await members.create("waiting@example.test", confirmed=False)
    (mail,) = await confirm_mails(app, member.email)
    good = token_of(confirm_path(mail.body))
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    gone = await _withdrawn(app, members)
    invalid = [
        "",
        "abc",
        "not.a.token",
        tampered,
        good.split(".")[0],  # the payload without its signature
        _forged(settings, member.id, member.email, secret="another-shop-secret-" + "z" * 32),
        _forged(settings, member.id, "someone.else@example.test"),  # an address the member does not have
        _forged(settings, 999_999, "nobody@example.test"),  # no such member
        _forged(settings, gone.id, gone.email),  # withdrawn
        "x" * 5000,
        "토큰.토큰",
    ]
    for token in invalid:
        for r in (await client.get("/account/confirm", params={"token": token}), await press_confirm(client, token)):
            page = html_page(r, 400)
            assert "This confirmation link is not valid." in page, token
            assert "Go to my account" in page and 'href="/login?next=/me"' in page
    expired = _forged(settings, member.id, member.email, hours=-1)
    for r in (await client.get("/account/confirm", params={"token": expired}), await press_confirm(client, expired)):
        assert "This confirmation link has expired. Ask for a new one" in html_page(r, 410)
    assert "not valid" in html_page(await client.get("/account/confirm"), 400)  # no token at all
    assert "not valid" in html_page(await post_form(client, "/account/confirm"), 400)
    assert (await client.get("/account/confirm?token=a%00b")).status_code == 400
    assert (await post_form(client, "/account/confirm", {"token": "a\x00b"})).status_code == 400
    assert await confirmed_at(members, member.id) is None and await confirmed_at(members, gone.id) is None
    # the good link still works afterwards
    assert (await press_confirm(client, good)).status_code == 303
    assert await confirmed_at(members, member.id) is not None


@with_settings("one-hour links", email_confirm_hours=1)
async def test_the_links_life_is_a_setting(client, app, settings):
    await sign_up(client)
    (mail,) = await confirm_mails(app, EMAIL)
    assert "The link works for 1 hour." in mail.body
    read = read_confirmation(signing_key(settings.secret_key), token_of(confirm_path(mail.body)), utcnow())
    assert timedelta(minutes=59) < read.expires_at - utcnow() <= timedelta(hours=1)
