"""New passwords through the sign-up form and the password change: at least 10 characters, not the
email or display name nor containing them, not among the common passwords; the form says why and
nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models.members import Member
from tests.helpers.factories import PASSWORD
from tests.helpers.web import field_error, login, post_form

EMAIL, NAME = "jane.doe@example.test", "Hanbit Figures"
REFUSED = [
    ("short-pw", "at least 10"),
    (EMAIL, "email"),
    ("JANE.DOE@example.test!!", "email"),
    ("jane.doe-2026-x", "email"),
    ("hanbit figures", "display name"),
    ("my-HanbitFigures-1", "display name"),
    ("1234567890", "most common"),
    ("Basketball", "most common"),
    ("qwertyuiop", "most common"),
]


async def member_count(app) -> int:
    async with app.state.database.transaction() as db:
        return (await db.execute(select(func.count(Member.id)))).scalar_one()


@pytest.mark.parametrize("password, says", REFUSED, ids=[says for _, says in REFUSED])
async def test_sign_up_says_why_a_password_is_refused(client, app, password, says):
    data = {"email": EMAIL, "display_name": NAME, "password": password, "password_confirm": password}
    r = await post_form(client, "/signup", data)
    assert r.status_code == 422
    assert says in field_error(r.text, "password")
    assert f'value="{EMAIL}"' in r.text and password not in r.text.replace(EMAIL, "")
    assert await member_count(app) == 0


async def test_sign_up_takes_a_good_password(client, app):
    data = {"email": EMAIL, "display_name": NAME, "password": PASSWORD, "password_confirm": PASSWORD}
    assert (await post_form(client, "/signup", data)).status_code == 303
    assert await member_count(app) == 1


@pytest.mark.parametrize("password, says", REFUSED, ids=[says for _, says in REFUSED])
async def test_password_change_says_why_a_password_is_refused(client, members, password, says):
    await members.create(EMAIL, display_name=NAME)
    await login(client, EMAIL)
    data = {"old_password": PASSWORD, "new_password": password, "new_password_confirm": password}
    r = await post_form(client, "/me/password", data)
    assert r.status_code == 422
    assert says in field_error(r.text, "new_password")
    await post_form(client, "/logout")
    await login(client, EMAIL)  # the old password still signs in: nothing changed


async def test_password_change_takes_a_good_password(client, members):
    await members.create(EMAIL, display_name=NAME)
    await login(client, EMAIL)
    new = "violet-lantern-harbour"
    data = {"old_password": PASSWORD, "new_password": new, "new_password_confirm": new}
    assert (await post_form(client, "/me/password", data)).status_code == 303
    await post_form(client, "/logout")
    await login(client, EMAIL, new)
