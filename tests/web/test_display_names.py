"""Display names through the sign-up form and the profile: invisible characters are removed before
the name is kept, and names that pass for the shop's staff are refused next to the field, changing
nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models.members import Member
from tests.helpers.factories import PASSWORD
from tests.helpers.web import as_admin, field_error, login, post_form

RESERVED = ["admin", "Smore", "Smore Admin", "administrator", "운영자", "관리자", "스모어"]
VARIANTS = ["ADMIN", "a d m i n", "Adm1n", "\u0430dmin", "\uff33\uff4d\uff4f\uff52\uff45", "smore_admin", "관 리 자"]
HIDDEN = "\u202eadmin\u200b"  # a bidi override and a zero-width space around a reserved name


async def sign_up(client, name: str):
    data = {"email": "new@example.test", "display_name": name, "password": PASSWORD, "password_confirm": PASSWORD}
    return await post_form(client, "/signup", data)


async def names(app) -> list[str]:
    async with app.state.database.transaction() as db:
        return list((await db.execute(select(Member.display_name).order_by(Member.id))).scalars())


@pytest.mark.parametrize("name", [*RESERVED, *VARIANTS, HIDDEN])
async def test_sign_up_refuses_names_that_speak_for_the_shop(client, app, name):
    r = await sign_up(client, name)
    assert r.status_code == 422
    assert "belongs to the shop" in field_error(r.text, "display_name")
    assert field_error(r.text, "password") == ""  # only the name is wrong
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(func.count(Member.id)))).scalar_one() == 0


async def test_sign_up_keeps_the_name_without_its_invisible_characters(client, app):
    r = await sign_up(client, "\u2066Kim\u200b \u200dMinji\u2069\ufeff")
    assert r.status_code == 303
    assert await names(app) == ["Kim Minji"]
    assert "Kim Minji" in (await client.get("/me")).text


async def test_a_name_of_invisible_characters_is_no_name(client, app):
    r = await sign_up(client, "\u200b\u3164\u202e ")
    assert r.status_code == 422 and "Enter a display name" in field_error(r.text, "display_name")
    assert await names(app) == []


async def test_profile_edit_refuses_reserved_names_inline_and_changes_nothing(client, members):
    member = await members.create("me@example.test", display_name="Before")
    await login(client, "me@example.test")
    for name in ["Smore Admin", "\u0455m\u043er\u0435", "관리자김"]:
        r = await post_form(client, "/me", {"display_name": name})
        assert r.status_code == 422, name
        assert "belongs to the shop" in field_error(r.text, "display_name")
        assert f'value="{name}"' in r.text  # what was typed stays in the field
    assert (await members.get(member.id)).display_name == "Before"


async def test_profile_edit_strips_bidi_and_zero_width_characters(client, members):
    member = await members.create("me@example.test", display_name="Before")
    await login(client, "me@example.test")
    r = await post_form(client, "/me", {"display_name": "\u202bAfter\u200c 이름\u2060"})
    assert r.status_code == 303
    assert (await members.get(member.id)).display_name == "After 이름"


async def test_the_shops_own_staff_may_carry_its_name(client, members):
    admin = await as_admin(client, members)
    r = await post_form(client, "/me", {"display_name": "Smore Admin"})
    assert r.status_code == 303
    assert (await members.get(admin.id)).display_name == "Smore Admin"
