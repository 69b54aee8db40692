"""The database backs the rule "one application waiting for review per member"."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app.models.members import ApplicationStatus, SellerApplication


def _application(member_id: int, status: ApplicationStatus) -> SellerApplication:
    return SellerApplication(
        member_id=member_id, business_name="Shop", contact="010", description="We sell things.", status=status
    )


async def test_a_second_pending_application_is_refused_by_the_database(app, members):
    member = await members.create()
    async with app.state.database.transaction() as db:
        db.add(_application(member.id, ApplicationStatus.REJECTED))
        db.add(_application(member.id, ApplicationStatus.REJECTED))
        db.add(_application(member.id, ApplicationStatus.PENDING))
    with pytest.raises(IntegrityError):
        async with app.state.database.transaction() as db:
            db.add(_application(member.id, ApplicationStatus.PENDING))


async def test_review_page_shows_the_application_and_its_history(client, app, members):
    from tests.helpers.web import login, post_form

    shopper = await members.create("maker@example.test")
    async with app.state.database.transaction() as db:
        application = _application(shopper.id, ApplicationStatus.PENDING)
        db.add(application)
    await members.admin()
    await login(client, "root@example.test")
    page = await client.get(f"/admin/sellers/{application.id}")
    assert page.status_code == 200 and "maker@example.test" in page.text and "We sell things." in page.text
    r = await post_form(client, f"/admin/sellers/{application.id}/reject", {"reason": "Missing licence"})
    assert r.status_code == 303
    page = await client.get(f"/admin/sellers/{application.id}")
    assert ">Rejected</td>" in page.text and "seller_application.reject" not in page.text
    assert "Missing licence" in page.text
    assert (await client.get("/admin/sellers/999999")).status_code == 404
