"""The header in Korean and English: ``<html lang>`` follows the language, the search landmark and
the menu speak it, and a phone gets the folding menu (a <details>, no JavaScript needed)."""

from __future__ import annotations

from tests.helpers.web import login


async def test_the_header_speaks_korean(client, members):
    member = await members.create("ana@example.test", display_name="Ana Kim")
    await login(client, member.email)
    page = (await client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})).text
    assert '<html lang="ko">' in page
    assert 'role="search" aria-label="상품 검색"' in page
    assert "로그아웃" in page and '<details class="menu">' in page


async def test_the_header_in_english_by_default(client):
    page = (await client.get("/")).text
    assert '<html lang="en">' in page
    assert 'role="search" aria-label="Search products"' in page
