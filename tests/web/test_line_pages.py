"""A waiting room's line through the app: a member joins from the product page's form and is sent
to their place page, which explains the random draw before the start and shows their place, the
places let in and the wait after it, refreshes itself, and never names another member."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from app.core.i18n import format_datetime, using
from app.drops.waiting_room import WaitingRoom
from app.models.base import utcnow
from app.models.catalog import Product, SaleMode
from app.models.catalog import ProductStatus as S
from app.models.lines import LinePlace
from tests.helpers.tables import count
from tests.helpers.web import login, post_form


async def waiting_room(members, products, starts, **fields):
    status = S.SCHEDULED if starts > utcnow() else S.ON_SALE
    values = {"status": status, "sale_starts_at": starts, "sale_mode": SaleMode.WAITING_ROOM} | fields
    return await products.create(await members.seller(), **values)


def join_form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)" id="join-line-form">', page)
    assert match, "the product page has no join form"
    return match.group(1)


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))


async def test_joining_through_the_product_page_leads_to_the_line_page(client, app, members, products):
    starts = (utcnow() + timedelta(minutes=5)).replace(microsecond=0)
    product = await waiting_room(members, products, starts)
    member = await members.create()
    await login(client, member.email)
    page = (await client.get(f"/products/{product.id}")).text
    assert "See your place" not in page
    action = join_form_action(page)
    r = await post_form(client, action)
    assert r.status_code == 303 and r.headers["location"] == f"/products/{product.id}/line"
    line = (await client.get(r.headers["location"])).text
    with using("en", "Asia/Seoul"):
        local = format_datetime(starts)
    assert local.endswith(" KST")
    assert f"You are in the line. Places are drawn at random when the sale starts at {local}." in text(line)
    assert "Your place:" not in line
    assert await count(app, LinePlace) == 1
    again = await client.get(f"/products/{product.id}")
    assert "See your place" in again.text and 'id="join-line-form"' not in again.text
    await post_form(client, action)
    assert await count(app, LinePlace) == 1


async def test_after_the_start_the_page_shows_the_place_the_admitted_and_the_wait(client, app, members, products):
    starts = utcnow() - timedelta(seconds=5)
    product = await waiting_room(members, products, starts, admission_rate_per_minute=1)
    early = [await members.create(f"early{n}@example.test", display_name=f"Early Bird {n}") for n in range(2)]
    async with app.state.database.transaction() as db:
        room = WaitingRoom(db, app.state.settings)
        row = await db.get(Product, product.id)
        for m in early:
            await room.join(m, row, starts - timedelta(minutes=1))
    member = await members.create("late@example.test", display_name="Late Comer")
    await login(client, member.email)
    r = await post_form(client, f"/products/{product.id}/line")
    assert r.status_code == 303
    page = (await client.get(f"/products/{product.id}/line")).text
    said = text(page)
    assert "Your place: 3 of 3" in said
    assert "1 place let in so far" in said
    assert "Estimated wait: about 2 minutes" in said
    assert "It's your turn" not in said
    for other in early:  # no other member's identity anywhere
        assert other.email not in page and other.display_name not in page
        assert f"member-{other.id}" not in page


async def test_the_first_in_line_is_told_it_is_their_turn(client, app, members, products):
    product = await waiting_room(members, products, utcnow() - timedelta(seconds=5))
    member = await members.create()
    await login(client, member.email)
    await post_form(client, f"/products/{product.id}/line")
    said = text((await client.get(f"/products/{product.id}/line")).text)
    assert "Your place: 1 of 1" in said and "It's your turn" in said and "Estimated wait" not in said


async def test_the_page_refreshes_itself_and_announces_changes_politely(client, members, products):
    product = await waiting_room(members, products, utcnow() + timedelta(minutes=5))
    await login(client, (await members.create()).email)
    page = (await client.get(f"/products/{product.id}/line")).text
    assert '<meta http-equiv="refresh" content="10">' in page
    assert re.search(r'<section[^>]*id="line"[^>]*aria-live="polite"', page)
    assert 'id="join-line"' in page and "You are not in the line yet." in page


async def test_signed_out_visitors_are_sent_to_sign_in(client, members, products):
    product = await waiting_room(members, products, utcnow() + timedelta(minutes=5))
    r = await client.get(f"/products/{product.id}/line")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    page = (await client.get(f"/products/{product.id}")).text
    assert 'id="join-line-form"' not in page
    r = await post_form(client, f"/products/{product.id}/line")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_a_first_come_product_refuses_with_the_message(client, app, members, products):
    product = await products.create(await members.seller(), sale_mode=SaleMode.FIRST_COME)
    await login(client, (await members.create()).email)
    assert 'id="join-line-form"' not in (await client.get(f"/products/{product.id}")).text
    r = await post_form(client, f"/products/{product.id}/line")
    assert 400 <= r.status_code < 500
    assert "This product is not sold through a waiting room." in r.text
    assert await count(app, LinePlace) == 0


async def test_a_line_not_open_yet_refuses_with_the_message(client, app, members, products):
    product = await waiting_room(members, products, utcnow() + timedelta(hours=2))
    await login(client, (await members.create()).email)
    r = await post_form(client, f"/products/{product.id}/line")
    assert 400 <= r.status_code < 500 and "The line is not open yet." in r.text
    assert await count(app, LinePlace) == 0


async def test_the_seller_gets_no_join_button(client, members, products):
    seller = await members.seller()
    product = await products.create(
        seller, status=S.SCHEDULED, sale_starts_at=utcnow() + timedelta(minutes=5), sale_mode=SaleMode.WAITING_ROOM
    )
    await login(client, seller.email)
    assert 'id="join-line-form"' not in (await client.get(f"/products/{product.id}")).text
    r = await post_form(client, f"/products/{product.id}/line")
    assert 400 <= r.status_code < 500 and "your product" in r.text


async def test_an_unknown_product_is_not_found(client, members):
    await login(client, (await members.create()).email)
    assert (await client.get("/products/999999/line")).status_code == 404
    assert (await post_form(client, "/products/999999/line")).status_code == 404


async def test_a_korean_line_page_speaks_korean(client, members, products):
    product = await waiting_room(members, products, utcnow() - timedelta(seconds=5))
    await login(client, (await members.create()).email)
    await post_form(client, f"/products/{product.id}/line", headers={"Accept-Language": "ko"})
    said = text((await client.get(f"/products/{product.id}/line", headers={"Accept-Language": "ko"})).text)
    assert "내 순번: 1명 중 1번" in said and "입장" in said and "Your place" not in said
