"""/me's language and time zone, error pages with the signed-in header, and no "Method not allowed"
dead end after a form post."""

from __future__ import annotations

from tests.helpers.web import login, post_form


async def test_a_member_picks_tokyo_time_and_korean(client, members) -> None:
    await members.create("place@example.test", display_name="Placed")
    await login(client, "place@example.test")
    page = await client.get("/me")
    assert 'value="Asia/Seoul" selected' in page.text and "KST" in page.text
    r = await post_form(client, "/me/place", {"language": "en", "time_zone": "Asia/Tokyo"})
    assert r.status_code == 303 and r.headers["location"] == "/me"
    assert "JST" in (await client.get("/me")).text
    await post_form(client, "/me/place", {"language": "ko", "time_zone": "Asia/Tokyo"})
    client.cookies.delete("lang")
    korean = await client.get("/me", headers={"accept-language": "en-US"})
    assert '<html lang="ko">' in korean.text and "언어" in korean.text


async def test_a_refused_place_changes_nothing_and_its_address_answers_get(client, members) -> None:
    await members.create("bad-place@example.test")
    await login(client, "bad-place@example.test")
    r = await post_form(client, "/me/place", {"language": "xx", "time_zone": "Mars/Base"})
    assert r.status_code == 422 and "time zone" in r.text
    again = await client.get("/me/place")
    assert again.status_code in (200, 303)


async def test_error_pages_show_the_signed_in_header(client, members) -> None:
    await members.create("lost@example.test", display_name="Wanderer")
    await login(client, "lost@example.test")
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "Wanderer" in missing.text
    wrong = await client.delete("/")
    assert wrong.status_code == 405 and "Wanderer" in wrong.text


async def test_a_form_address_asked_with_get_is_no_dead_end(client, members) -> None:
    await members.create("refresh@example.test")
    await login(client, "refresh@example.test")
    for url in ("/signup/check-email", "/me/notifications/read", "/logout"):
        r = await client.get(url, follow_redirects=False)
        assert r.status_code in (200, 303), (url, r.status_code)
        assert "Method not allowed" not in r.text
