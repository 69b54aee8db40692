"""The sign-up's fields are checked while they are typed: a corrected field's error empties, and a
password changed after its repetition says again whether the two still match."""

from __future__ import annotations

from tests.helpers.factories import PASSWORD
from tests.helpers.web import post_form

HTMX = {"HX-Request": "true"}


async def test_a_corrected_display_name_clears_its_error(client) -> None:
    r = await post_form(client, "/signup/check/display_name", {"display_name": ""}, headers=HTMX)
    assert r.status_code == 200 and "Enter a display name" in r.text
    r = await post_form(client, "/signup/check/display_name", {"display_name": "Fresh"}, headers=HTMX)
    assert r.status_code == 200 and 'id="e-display_name"></p>' in r.text.replace("\n", "")


async def test_a_password_mismatch_is_reported_next_to_the_repetition_and_clears(client) -> None:
    form = {"password": PASSWORD, "password_confirm": PASSWORD + "x"}
    r = await post_form(client, "/signup/check/password_confirm", form, headers=HTMX)
    assert 'id="e-password_confirm">The two passwords differ.</p>' in r.text
    form["password_confirm"] = PASSWORD
    r = await post_form(client, "/signup/check/password_confirm", form, headers=HTMX)
    assert 'id="e-password_confirm"></p>' in r.text.replace("\n", "")
    # the password edited afterwards: its own check answers the repetition's too (out of band)
    r = await post_form(client, "/signup/check/password", {**form, "password": PASSWORD + "y"}, headers=HTMX)
    assert 'id="e-password"></p>' in r.text.replace("\n", "")
    assert 'id="e-password_confirm" hx-swap-oob="true">The two passwords differ.' in r.text


async def test_an_unknown_field_says_nothing_and_a_refresh_lands_on_the_form(client) -> None:
    r = await post_form(client, "/signup/check/role", {"role": "admin"}, headers=HTMX)
    assert r.status_code == 200 and "admin" not in r.text
    again = await client.get("/signup/check/password", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/signup"
