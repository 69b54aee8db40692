"""The admin pages speak the viewer's language, show times in the viewer's zone with its name, and
show states and audit actions by their labels, never the raw values; tables reflow into cards."""

from __future__ import annotations

import re

from tests.helpers.web import as_admin, post_form


async def test_a_member_page_in_korean_with_labels_and_kst(client, members) -> None:
    await as_admin(client, members)
    target = await members.create("label@example.test", display_name="Label Target")
    await post_form(client, f"/admin/members/{target.id}/suspend", {"reason": "spam"})
    page = await client.get(f"/admin/members/{target.id}", headers={"accept-language": "ko"})
    assert page.status_code == 200 and '<html lang="ko">' in page.text
    assert 'id="member-status">정지<' in page.text and "KST" in page.text
    assert "member.suspend" not in page.text and ">suspended<" not in page.text
    assert 'class="details"' in page.text and "hx-confirm=" in page.text
    english = await client.get(f"/admin/members/{target.id}")
    assert 'id="member-status">Suspended<' in english.text and "KST" in english.text


async def test_admin_lists_are_card_tables_with_labelled_cells_and_tabs(client, members) -> None:
    await as_admin(client, members)
    r = await client.get("/admin/members", params={"status": "active"}, headers={"accept-language": "ko"})
    assert r.status_code == 200 and '<table class="cards" id="members">' in r.text
    assert 'data-label="이메일"' in r.text or 'data-label="Email"' not in r.text
    cells = re.findall(r"<td( data-label=\"[^\"]*\")?", r.text)
    assert cells and all(cells)
    assert re.search(r'<nav class="tabs" aria-label="[^"]+" id="member-tabs">', r.text)
    assert 'aria-current="page">활성<' in r.text
    home = await client.get("/admin", headers={"accept-language": "ko"})
    assert "관리" in home.text and '<html lang="ko">' in home.text
