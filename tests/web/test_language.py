"""The shop speaks the viewer's language: the member's setting, else the header's switch (a cookie),
else Accept-Language; ``<html lang>`` follows it, and so do the error pages and the busy page."""

from __future__ import annotations

from sqlalchemy import select

from app.models.members import Member
from tests.helpers.web import login, post_form


async def test_accept_language_chooses_korean_and_nothing_means_english(client) -> None:
    korean = await client.get("/", headers={"accept-language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert korean.status_code == 200
    assert '<html lang="ko">' in korean.text and "로그인" in korean.text and "카테고리" in korean.text
    english = await client.get("/")
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert "로그인" not in english.text


async def test_the_switch_sets_a_cookie_and_goes_back_to_the_page(client) -> None:
    r = await post_form(client, "/language", {"language": "ko", "next": "/categories"})
    assert r.status_code == 303 and r.headers["location"] == "/categories"
    assert "lang=ko" in r.headers["set-cookie"]
    page = await client.get("/categories", headers={"accept-language": "en"})
    assert '<html lang="ko">' in page.text
    # the switch offers the other language, and a refresh of its address answers a page
    assert 'value="en"' in page.text and "English" in page.text
    refreshed = await client.get("/language")
    assert refreshed.status_code == 200 and "text/html" in refreshed.headers["content-type"]


async def test_a_forged_choice_or_an_outside_address_changes_nothing(client) -> None:
    r = await post_form(client, "/language", {"language": "xx", "next": "//evil.test/"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "set-cookie" not in r.headers or "lang=" not in r.headers["set-cookie"]
    assert '<html lang="en">' in (await client.get("/")).text


async def test_a_member_keeps_their_language_on_any_browser(client, app, members) -> None:
    member = await members.create("lang@example.test")
    await login(client, "lang@example.test")
    await post_form(client, "/language", {"language": "ko", "next": "/"})
    async with app.state.database.transaction() as db:
        assert (await db.execute(select(Member.language).where(Member.id == member.id))).scalar_one() == "ko"
    client.cookies.delete("lang")
    page = await client.get("/", headers={"accept-language": "en-US"})
    assert '<html lang="ko">' in page.text and "로그아웃" in page.text


async def test_error_pages_speak_the_viewer_language(client) -> None:
    r = await client.get("/no-such-page", headers={"accept-language": "ko"})
    assert r.status_code == 404 and '<html lang="ko">' in r.text


async def test_a_member_chooses_language_and_time_zone_on_their_page(client, app, members) -> None:
    member = await members.create("zone@example.test")
    await login(client, "zone@example.test")
    page = await client.get("/me")
    assert 'name="time_zone"' in page.text and '<option value="Asia/Seoul" selected>' in page.text
    assert " KST" in page.text  # member since …, in the default zone with its name
    r = await post_form(client, "/me/place", {"language": "ko", "time_zone": "Asia/Tokyo"})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    page = await client.get("/me", headers={"accept-language": "en"})
    assert '<html lang="ko">' in page.text and " JST" in page.text and "언어와 시간대" in page.text
    async with app.state.database.transaction() as db:
        saved = await db.get(Member, member.id)
        assert (saved.language, saved.time_zone) == ("ko", "Asia/Tokyo")
    # a refresh of the form's address after a post lands on the page, never "Method not allowed"
    assert (await client.get("/me/place")).status_code == 303


async def test_an_unknown_zone_is_refused_next_to_the_field_and_changes_nothing(client, app, members) -> None:
    member = await members.create("zone2@example.test")
    await login(client, "zone2@example.test")
    r = await post_form(client, "/me/place", {"language": "en", "time_zone": "Mars/Olympus"})
    assert r.status_code == 422 and 'id="e-time_zone">Choose a time zone from the list.<' in r.text
    async with app.state.database.transaction() as db:
        saved = await db.get(Member, member.id)
        assert (saved.language, saved.time_zone) == (None, None)


async def test_the_admin_money_and_category_pages_speak_korean(client, members) -> None:
    from tests.helpers.web import as_admin

    await as_admin(client, members)
    for url, phrase in (
        ("/admin/policies", "수수료 (결제 금액 중 쇼핑몰이 받는 %)"),
        ("/admin/payments", "결제가 없어요."),
        ("/admin/categories", "카테고리 만들기"),
    ):
        r = await client.get(url, headers={"accept-language": "ko"})
        assert r.status_code == 200 and '<html lang="ko">' in r.text, url
        assert phrase in r.text, url
