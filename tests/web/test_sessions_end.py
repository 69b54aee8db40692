"""A password change ends every other session of the member and keeps the current one under a new
id; an admin's password reset and a suspension end them all. An ended session gets no page, no
Buy press and no bid, on any session store."""

from __future__ import annotations

from app.models.catalog import ProductStatus
from app.models.drops import PurchaseRight
from tests.helpers.auctions import live_auction
from tests.helpers.factories import PASSWORD
from tests.helpers.keys import key
from tests.helpers.mail import outbox, reset_path
from tests.helpers.web import as_admin, buy, login, place, post_form, second_browser

NEW = "a-brand-new-password"


async def change_password(browser, old: str = PASSWORD, new: str = NEW):
    return await post_form(
        browser, "/me/password", {"old_password": old, "new_password": new, "new_password_confirm": new}
    )


async def signed_out(browser) -> bool:
    r = await browser.get("/me")
    return r.status_code == 303 and r.headers["location"] == "/login?next=/me"


def sent_to_login(r) -> bool:
    """A page sends the browser to sign in; an HTMX request is told to go there."""
    location = r.headers.get("hx-redirect") if r.status_code == 204 else r.headers.get("location")
    return r.status_code in (204, 303) and (location or "").startswith("/login")


async def rights_of(app, member_id: int) -> int:
    from sqlalchemy import func, select

    async with app.state.database.transaction() as db:
        return await db.scalar(
            select(func.count()).select_from(PurchaseRight).where(PurchaseRight.member_id == member_id)
        )


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one_under_a_new_id(client, members, app):
    member = await members.create("two@example.test")
    await login(client, member.email)
    async with second_browser(client) as phone, second_browser(client) as laptop:
        await login(phone, member.email)
        await login(laptop, member.email)
        before = client.cookies.get("session")
        r = await change_password(client)
        assert r.status_code == 303 and r.headers["location"] == "/me"
        after = client.cookies.get("session")
        assert after and after not in (before, "null")
        page = await client.get("/me")
        assert page.status_code == 200 and "Every other device was signed out." in page.text
        assert await signed_out(phone) and await signed_out(laptop)
        assert "your password was changed" in (await phone.get("/login")).text
        # the old cookie of this browser is gone from the store too
        client.cookies.set("session", before, domain="testserver.local")
        assert await signed_out(client)
        # the new password signs the other devices in again
        await login(phone, member.email, NEW)
        assert (await phone.get("/me")).status_code == 200


async def test_a_refused_password_change_ends_nothing(client, members):
    member = await members.create()
    await login(client, member.email)
    async with second_browser(client) as phone:
        await login(phone, member.email)
        r = await change_password(client, old="not-my-password")
        assert r.status_code == 422
        assert (await phone.get("/me")).status_code == 200
        assert (await client.get("/me")).status_code == 200
    assert (await members.get(member.id)).session_generation == 0


async def test_an_ended_session_cannot_press_buy_or_bid(client, members, products, app):
    member = await members.create()
    seller = await members.seller()
    product = await products.create(seller, status=ProductStatus.ON_SALE, fixed_quantity=5, total_quantity=5)
    auction = await live_auction(app, members, products, units=1)
    await login(client, member.email)
    async with second_browser(client) as thief:
        await login(thief, member.email)
        assert (await change_password(client)).status_code == 303
        assert sent_to_login(await buy(thief, product.id, key()))
        assert sent_to_login(await place(thief, auction.id, "10000"))
        assert await rights_of(app, member.id) == 0
        assert await signed_out(thief)
    # the session that changed the password still buys
    r = await buy(client, product.id, key())
    assert r.status_code == 200 and await rights_of(app, member.id) == 1


async def test_an_admin_password_reset_ends_every_session_and_mails_a_link(client, members, app):
    target = await members.create("stolen@example.test", display_name="Stolen")
    async with second_browser(client) as thief:
        await login(thief, target.email)
        admin = await as_admin(client, members)
        r = await post_form(client, f"/admin/members/{target.id}/reset_password", {"reason": "account taken over"})
        assert r.status_code == 303
        assert "password was reset" in (await client.get(r.headers["location"])).text
        assert await signed_out(thief)
        # the old password no longer signs in
        r = await post_form(thief, "/login", {"email": target.email, "password": PASSWORD})
        assert r.status_code == 400
        detail = await client.get(f"/admin/members/{target.id}")
        assert "Password reset" in detail.text and "account taken over" in detail.text
    (mail,) = await outbox(app, target.email)
    assert mail.subject == "An administrator reset your Smore password" and mail.member_id == target.id
    async with second_browser(client) as owner:
        assert (await owner.get(reset_path(mail.body))).status_code == 200
        r = await post_form(owner, reset_path(mail.body), {"password": NEW, "password_confirm": NEW})
        assert r.status_code == 303
        await login(owner, target.email, NEW)
    assert admin.id != target.id


async def test_an_admin_reset_needs_a_reason_and_spares_the_admin_and_withdrawn(client, members, app):
    admin = await as_admin(client, members)
    target = await members.create()
    async with second_browser(client) as browser:
        await login(browser, target.email)
        r = await post_form(client, f"/admin/members/{target.id}/reset_password", {"reason": ""})
        assert r.status_code == 422 and "Give a reason." in r.text
        assert (await browser.get("/me")).status_code == 200  # nothing changed
    r = await post_form(client, f"/admin/members/{admin.id}/reset_password", {"reason": "mine"})
    assert r.status_code == 303
    assert "Change your own password" in (await client.get(r.headers["location"])).text
    assert (await client.get("/me")).status_code == 200
    assert await outbox(app) == []
    r = await post_form(client, "/admin/members/99999999999/reset_password", {"reason": "none"})
    assert r.status_code == 404


async def test_a_suspension_ends_the_sessions_for_good(client, members, app):
    target = await members.create()
    async with second_browser(client) as browser:
        await login(browser, target.email)
        await as_admin(client, members)
        await post_form(client, f"/admin/members/{target.id}/suspend", {"reason": "check"})
        await post_form(client, f"/admin/members/{target.id}/unsuspend", {"reason": "fine"})
        # lifted before the member's next request: the old session still does not come back
        assert await signed_out(browser)
        await login(browser, target.email)
        assert (await browser.get("/me")).status_code == 200
