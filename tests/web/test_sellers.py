"""Seller applications: a shopper applies, an administrator approves or rejects, through the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.models.members import ApplicationStatus, AuditEntry, MemberRole, SellerApplication
from tests.helpers.forms import REFUSAL_ARGS, refusals
from tests.helpers.web import field_error, login, post_form, second_browser

GOOD = {"business_name": "Moon Ceramics", "contact": "moon@ceramics.test", "description": "Hand-thrown mugs."}


async def applications(app: Litestar) -> list[SellerApplication]:
    async with app.state.database.transaction() as db:
        stmt = select(SellerApplication).order_by(SellerApplication.id)
        return list((await db.execute(stmt)).scalars().all())


async def apply(client: AsyncTestClient[Litestar], **override: str):
    return await post_form(client, "/seller/apply", {**GOOD, **override})


async def flash_after(client: AsyncTestClient[Litestar], response) -> str:
    assert response.status_code == 303, response.text
    return (await client.get(response.headers["location"])).text


@pytest.fixture
async def shopper(client, members):
    """A signed-in shopper in ``client``; the administrator uses a second browser."""
    member = await members.create("maker@example.test", display_name="Maker")
    await login(client, member.email)
    return member


@asynccontextmanager
async def admin_browser(client, members) -> AsyncIterator[AsyncTestClient[Litestar]]:
    admin = await members.admin()
    async with second_browser(client) as browser:
        await login(browser, admin.email)
        yield browser


async def test_approval_makes_the_applicant_a_seller_at_once(client, app, members, shopper):
    form = await client.get("/seller/apply")
    assert form.status_code == 200 and 'name="business_name"' in form.text
    assert await flash_after(client, await apply(client))
    status = await client.get("/seller/apply")
    assert "waiting for review" in status.text and 'name="business_name"' not in status.text
    assert (await client.get("/seller")).status_code == 403
    [application] = await applications(app)
    async with admin_browser(client, members) as admin:
        listing = await admin.get("/admin/sellers")
        assert f'id="application-{application.id}"' in listing.text and "Moon Ceramics" in listing.text
        r = await post_form(admin, f"/admin/sellers/{application.id}/approve")
        assert "Moon Ceramics is now a seller." in await flash_after(admin, r)
    # the applicant's existing session sees the new role on its next request
    home = await client.get("/")
    assert 'data-nav="seller"' in home.text and 'data-nav="apply"' not in home.text
    assert (await client.get("/seller")).status_code == 200
    r = await client.get("/seller/apply")
    assert r.status_code == 303 and r.headers["location"] == "/seller"
    assert (await members.get(shopper.id)).role is MemberRole.SELLER
    [decided] = await applications(app)
    assert decided.status is ApplicationStatus.APPROVED and decided.decided_at is not None
    async with app.state.database.transaction() as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert actions == ["seller_application.approve"]


async def test_reject_needs_a_reason(client, app, members, shopper):
    await apply(client)
    [application] = await applications(app)
    async with admin_browser(client, members) as admin:
        r = await post_form(admin, f"/admin/sellers/{application.id}/reject", {"reason": "  "})
        assert r.status_code == 422
        assert "Give a reason" in field_error(r.text, "reason")
    [unchanged] = await applications(app)
    assert unchanged.status is ApplicationStatus.PENDING and unchanged.decision_reason is None


async def test_rejected_applicant_sees_the_reason_and_may_apply_again(client, app, members, shopper):
    await apply(client)
    [application] = await applications(app)
    async with admin_browser(client, members) as admin:
        r = await post_form(admin, f"/admin/sellers/{application.id}/reject", {"reason": "Contact is unreachable."})
        assert "was rejected" in await flash_after(admin, r)
    page = await client.get("/seller/apply")
    assert "rejected" in page.text and "Contact is unreachable." in page.text
    assert 'name="business_name"' in page.text
    assert (await members.get(shopper.id)).role is MemberRole.SHOPPER
    await apply(client, contact="+82 10 1234 5678")
    first, second = await applications(app)
    assert first.status is ApplicationStatus.REJECTED
    assert second.status is ApplicationStatus.PENDING and second.contact == "+82 10 1234 5678"


async def test_second_application_while_pending_is_refused(client, app, shopper):
    await apply(client)
    r = await apply(client, business_name="Another Shop")
    assert "already waiting for review" in await flash_after(client, r)
    assert [a.business_name for a in await applications(app)] == ["Moon Ceramics"]


async def test_only_sellers_reach_the_dashboard_and_only_admins_review(client, members, shopper):
    r = await client.get("/seller")
    assert r.status_code == 403 and "approved sellers" in r.text
    assert (await client.get("/admin/sellers")).status_code == 403
    await post_form(client, "/logout")
    r = await client.get("/seller")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/seller"
    r = await client.get("/seller/apply")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/seller/apply"


async def test_deciding_an_already_decided_application_is_refused(client, app, members, shopper):
    await apply(client)
    [application] = await applications(app)
    async with admin_browser(client, members) as admin:
        await post_form(admin, f"/admin/sellers/{application.id}/approve")
        r = await post_form(admin, f"/admin/sellers/{application.id}/approve")
        assert "already approved" in await flash_after(admin, r)
        r = await post_form(admin, f"/admin/sellers/{application.id}/reject", {"reason": "changed my mind"})
        assert "already approved" in await flash_after(admin, r)
    [decided] = await applications(app)
    assert decided.status is ApplicationStatus.APPROVED and decided.decision_reason is None


async def test_unknown_application_is_404(client, app, members):
    async with admin_browser(client, members) as admin:
        r = await post_form(admin, "/admin/sellers/424242/approve")
        assert r.status_code == 404 and "does not exist" in r.text
        r = await post_form(admin, "/admin/sellers/424242/reject", {"reason": "no such thing"})
        assert r.status_code == 404


REFUSED = {
    "business_name": {"Enter your business name": ["", "   "], "at least 2": ["X"], "at most 100": ["x" * 101]},
    "contact": {"Enter your contact": [""], "at least 3": ["ab"], "at most 200": ["c" * 201]},
    "description": {"Enter your description": [""], "at least 10": ["too short"], "at most 2000": ["d" * 2001]},
}


@pytest.mark.parametrize(REFUSAL_ARGS, refusals(REFUSED))
async def test_invalid_application_fields_are_refused(client, app, shopper, field, value, message):
    r = await apply(client, **{field: value})
    assert r.status_code == 422
    assert message in field_error(r.text, field)
    for other in GOOD.keys() - {field}:
        assert field_error(r.text, other) == ""
        assert GOOD[other] in r.text  # what was typed is kept
    assert await applications(app) == []


async def test_admin_cannot_apply(client, app, members):
    admin = await members.admin()
    await login(client, admin.email)
    assert "Administrators cannot apply" in await flash_after(client, await apply(client))
    assert await applications(app) == []


async def test_reject_error_is_shown_for_an_application_beyond_the_first_page(client, app, members):
    for n in range(6):
        member = await members.create(f"queue{n}@example.test")
        async with second_browser(client) as browser:
            await login(browser, member.email)
            await apply(browser, business_name=f"Queue Shop {n}")
    last = (await applications(app))[-1]
    async with admin_browser(client, members) as admin:
        r = await post_form(admin, f"/admin/sellers/{last.id}/reject", {"reason": ""})
        assert r.status_code == 422
        # the application's own review page comes back, with the error next to the reason field
        assert f'id="application-{last.id}"' in r.text and "Queue Shop 5" in r.text
        assert "Give a reason" in field_error(r.text, "reason")


async def test_reject_without_reason_of_unknown_application_is_404(client, app, members):
    async with admin_browser(client, members) as admin:
        r = await post_form(admin, "/admin/sellers/424242/reject", {"reason": ""})
        assert r.status_code == 404


async def test_apply_page_is_html_on_a_direct_load_a_refresh_and_an_htmx_request(client, shopper):
    for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"}):
        r = await client.get("/seller/apply", headers=headers)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html"), (headers, r.headers["content-type"])
        assert r.text.lstrip().lower().startswith("<!doctype html>")
    refused = await apply(client, business_name="")
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("text/html")
    assert await flash_after(client, await apply(client))
    again = await client.get("/seller/apply")
    assert again.headers["content-type"].startswith("text/html") and "waiting for review" in again.text
