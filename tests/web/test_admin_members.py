"""Admin member moderation and member withdrawal, through the app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from sqlalchemy import func, select

from app.models.members import AuditEntry, Member, MemberStatus
from tests.helpers.factories import PASSWORD
from tests.helpers.web import as_admin, csrf_token, field_error, login, post_form, refusal_says, second_browser


async def audit_rows(app: Litestar, member_id: int) -> list[AuditEntry]:
    async with app.state.database.transaction() as db:
        stmt = select(AuditEntry).where(AuditEntry.target_type == "members", AuditEntry.target_id == member_id)
        return list((await db.execute(stmt.order_by(AuditEntry.id))).scalars().all())


def listed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="member-(\d+)">', html)]


async def test_search_by_email_and_by_name_ignores_case(client, members):
    await as_admin(client, members)
    alice = await members.create("alice@shop.test", display_name="Alice Kim")
    bob = await members.create("bob@other.test", display_name="Bob Lee")
    r = await client.get("/admin/members", params={"q": "SHOP.test"})
    assert r.status_code == 200 and listed_ids(r.text) == [alice.id]
    r = await client.get("/admin/members", params={"q": "bob lee"})
    assert listed_ids(r.text) == [bob.id]
    assert 'value="bob lee"' in r.text
    r = await client.get("/admin/members", params={"q": "nobody-like-this"})
    assert r.status_code == 200 and listed_ids(r.text) == [] and 'id="no-members"' in r.text


async def test_search_treats_like_wildcards_literally_and_refuses_long_queries(client, members):
    await as_admin(client, members)
    under = await members.create("under_score@example.test", display_name="Under")
    await members.create("underXscore@example.test", display_name="Other")
    pct = await members.create("pct@example.test", display_name="100% Cotton")
    assert listed_ids((await client.get("/admin/members", params={"q": "under_"})).text) == [under.id]
    assert listed_ids((await client.get("/admin/members", params={"q": "%"})).text) == [pct.id]
    assert listed_ids((await client.get("/admin/members", params={"q": "\\"})).text) == []
    r = await client.get("/admin/members", params={"q": "x" * 201})
    assert r.status_code == 400
    assert "at most 200" in field_error(r.text, "q")


async def test_status_filter(client, members, app):
    admin = await as_admin(client, members)
    bad = await members.create(display_name="Bad Actor")
    await post_form(client, f"/admin/members/{bad.id}/suspend", {"reason": "spam"})
    r = await client.get("/admin/members", params={"status": "suspended"})
    assert listed_ids(r.text) == [bad.id]
    r = await client.get("/admin/members", params={"status": "active"})
    assert listed_ids(r.text) == [admin.id]
    r = await client.get("/admin/members", params={"status": "bogus"})
    assert r.status_code == 200 and listed_ids(r.text) == [admin.id, bad.id]


async def test_pagination_and_odd_page_numbers(client, members):
    await as_admin(client, members)
    created = [await members.create(f"paged{i:02d}@example.test") for i in range(12)]
    ids = [m.id for m in created]
    r = await client.get("/admin/members", params={"q": "paged", "page": "2"})
    assert r.status_code == 200 and listed_ids(r.text) == ids[5:10]
    assert "Page 2 of 3 (12 in all)" in r.text
    assert 'href="?q=paged&amp;page=3"' in r.text and 'href="?q=paged&amp;page=1"' in r.text
    r = await client.get("/admin/members", params={"q": "paged", "page": "3"})
    assert listed_ids(r.text) == ids[10:]
    for odd, expected in [("abc", ids[:5]), ("0", ids[:5]), ("-4", ids[:5]), ("999", ids[10:]), ("", ids[:5])]:
        r = await client.get("/admin/members", params={"q": "paged", "page": odd})
        assert r.status_code == 200, odd
        assert listed_ids(r.text) == expected, odd


async def test_suspend_audits_and_ends_the_members_session(client, members, app):
    admin = await as_admin(client, members)
    target = await members.create("target@example.test", display_name="Target")
    async with second_browser(client) as victim:
        await login(victim, target.email)
        assert (await victim.get("/me")).status_code == 200
        form = (await client.get(f"/admin/members/{target.id}")).text  # says what a suspension does first
        assert "cannot sign in until unsuspended" in form
        assert "Purchase rights they hold and have not paid are cancelled" in form
        korean = (await client.get(f"/admin/members/{target.id}", headers={"accept-language": "ko"})).text
        assert "결제하지 않은 구매 권한은 취소돼요" in korean
        before = datetime.now(UTC) - timedelta(seconds=5)
        r = await post_form(client, f"/admin/members/{target.id}/suspend", {"reason": "Selling counterfeits"})
        assert r.status_code == 303 and r.headers["location"] == f"/admin/members/{target.id}"
        rows = await audit_rows(app, target.id)
        assert [(e.actor_id, e.action, e.reason) for e in rows] == [
            (admin.id, "member.suspend", "Selling counterfeits")
        ]
        assert before <= rows[0].created_at <= datetime.now(UTC) + timedelta(seconds=5)
        detail = await client.get(f"/admin/members/{target.id}")
        assert 'id="member-status">Suspended<' in detail.text and "Selling counterfeits" in detail.text
        assert "Root Admin" in detail.text and ">Suspended</td>" in detail.text and "member.suspend" not in detail.text
        assert f'action="/admin/members/{target.id}/unsuspend"' in detail.text
        # the member's existing session stops working on its very next request
        r = await victim.get("/me")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/me"
        assert "has been suspended" in (await victim.get("/login")).text
        r = await post_form(victim, "/login", {"email": target.email, "password": PASSWORD})
        assert r.status_code == 400
        assert "This account is suspended. Reason: Selling counterfeits" in r.text
    assert (await members.get(target.id)).status is MemberStatus.SUSPENDED


async def test_unsuspend_restores_login(client, members, app):
    admin = await as_admin(client, members)
    target = await members.create("back@example.test")
    await post_form(client, f"/admin/members/{target.id}/suspend", {"reason": "check"})
    r = await post_form(client, f"/admin/members/{target.id}/unsuspend", {"reason": "appeal accepted"})
    assert r.status_code == 303
    refreshed = await members.get(target.id)
    assert refreshed.status is MemberStatus.ACTIVE and refreshed.status_reason is None
    rows = await audit_rows(app, target.id)
    assert [(e.actor_id, e.action, e.reason) for e in rows] == [
        (admin.id, "member.suspend", "check"),
        (admin.id, "member.unsuspend", "appeal accepted"),
    ]
    async with second_browser(client) as member_browser:
        await login(member_browser, target.email)
        assert (await member_browser.get("/me")).status_code == 200


async def test_suspend_without_reason_is_422_and_changes_nothing(client, members, app):
    await as_admin(client, members)
    target = await members.create()
    for reason in ["", "   ", "x" * 501]:
        r = await post_form(client, f"/admin/members/{target.id}/suspend", {"reason": reason})
        assert r.status_code == 422, reason
        assert field_error(r.text, "reason"), reason
    assert "at most 500" in field_error(r.text, "reason")
    assert "x" * 501 in r.text  # what was typed is kept
    assert (await members.get(target.id)).status is MemberStatus.ACTIVE
    assert await audit_rows(app, target.id) == []


async def test_refused_moderation_explains_and_changes_nothing(client, members, app):
    admin = await as_admin(client, members)
    other_admin = await members.create("other-admin@example.test", role=admin.role)
    active = await members.create()
    await refusal_says(client, f"/admin/members/{admin.id}/suspend", "cannot suspend your own account")
    await refusal_says(client, f"/admin/members/{other_admin.id}/suspend", "Administrators cannot be suspended")
    await refusal_says(client, f"/admin/members/{active.id}/unsuspend", "is not suspended")
    await post_form(client, f"/admin/members/{active.id}/suspend", {"reason": "first"})
    r = await post_form(client, f"/admin/members/{active.id}/suspend", {"reason": "again"})
    assert "is already suspended" in (await client.get(r.headers["location"])).text
    assert [e.reason for e in await audit_rows(app, active.id)] == ["first"]
    for m in (admin, other_admin):
        assert (await members.get(m.id)).status is MemberStatus.ACTIVE


async def test_unknown_member_is_404(client, members):
    await as_admin(client, members)
    for url in ["/admin/members/999999", "/admin/members/99999999999999999999"]:
        r = await client.get(url)
        assert r.status_code == 404 and "does not exist" in r.text, url
    for action in ["suspend", "unsuspend"]:
        r = await post_form(client, f"/admin/members/999999/{action}", {"reason": "x"})
        assert r.status_code == 404


async def test_shopper_is_forbidden_and_anonymous_is_sent_to_login(client, members, app):
    shopper = await members.create("shopper@example.test")
    r = await client.get("/admin/members")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/members"
    await login(client, shopper.email)
    for url in ["/admin/members", f"/admin/members/{shopper.id}"]:
        r = await client.get(url)
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), url
        assert "for administrators" in r.text
    r = await post_form(client, f"/admin/members/{shopper.id}/suspend", {"reason": "self-service"})
    assert r.status_code == 403
    assert (await members.get(shopper.id)).status is MemberStatus.ACTIVE


async def test_post_without_csrf_token_is_refused(client, members, app):
    await as_admin(client, members)
    target = await members.create()
    r = await client.post(f"/admin/members/{target.id}/suspend", data={"reason": "no token"})
    assert r.status_code == 403
    r = await client.post(f"/admin/members/{target.id}/suspend", data={"reason": "bad", "_csrf_token": "forged"})
    assert r.status_code == 403
    assert (await members.get(target.id)).status is MemberStatus.ACTIVE
    assert await audit_rows(app, target.id) == []
    assert await csrf_token(client)


async def test_withdraw_needs_the_box_and_the_password(client, members):
    member = await members.create("leaving@example.test")
    await login(client, member.email)
    r = await post_form(client, "/me/withdraw", {"password": PASSWORD})
    assert r.status_code == 422 and "Tick the box" in field_error(r.text, "confirm")
    r = await post_form(client, "/me/withdraw", {"confirm": "yes", "password": "wrong-password-123"})
    assert r.status_code == 422 and "not your current password" in field_error(r.text, "password")
    assert (await members.get(member.id)).status is MemberStatus.ACTIVE
    assert (await client.get("/me")).status_code == 200


async def test_withdrawal_keeps_the_row_and_blocks_login_and_signup(client, members, app):
    member = await members.create("leaving@example.test", display_name="Leaving")
    await login(client, member.email)
    r = await post_form(client, "/me/withdraw", {"confirm": "yes", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/goodbye"
    assert (await client.get("/me")).status_code == 303
    row = await members.get(member.id)
    assert row.status is MemberStatus.WITHDRAWN and row.email == "leaving@example.test"
    assert row.withdrawn_at is not None
    assert [(e.actor_id, e.action) for e in await audit_rows(app, member.id)] == [(member.id, "member.withdraw")]
    r = await post_form(client, "/login", {"email": member.email, "password": PASSWORD})
    assert r.status_code == 400 and "withdrawn" in r.text
    data = {"email": member.email, "display_name": "Again", "password": PASSWORD, "password_confirm": PASSWORD}
    r = await post_form(client, "/signup", data)
    assert r.status_code == 422 and "already exists" in field_error(r.text, "email")
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(func.count(Member.id)))).scalar_one() == 1


async def test_withdrawn_member_cannot_be_moderated(client, members, app):
    member = await members.create("gone@example.test")
    async with second_browser(client) as leaver:
        await login(leaver, member.email)
        await post_form(leaver, "/me/withdraw", {"confirm": "yes", "password": PASSWORD})
    await as_admin(client, members)
    detail = await client.get(f"/admin/members/{member.id}")
    assert "has withdrawn" in detail.text and "moderation-form" not in detail.text
    r = await post_form(client, f"/admin/members/{member.id}/suspend", {"reason": "too late"})
    assert r.status_code == 303
    assert "cannot be moderated" in (await client.get(r.headers["location"])).text
    assert (await members.get(member.id)).status is MemberStatus.WITHDRAWN
