"""A waiting room's line through the app: a member joins from the product page's form (with the
proof it asks for, ``tests/helpers/proof.py``) and is sent to their place page, which explains the
random draw before the start and shows their place, the places let in and the wait after it,
refreshes itself without JavaScript, and never names another member. Once let in, the page (and the product page's
buy box) carries Buy with the member's admission, spent once; Buy without one, or with one that is
spent, expired or someone else's, is refused; and when the units are gone everyone still waiting
is told."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import update

from app.core.i18n import format_datetime, using
from app.drops.admissions import issue_all_due
from app.drops.waiting_room import WaitingRoom
from app.models.base import utcnow
from app.models.catalog import Product, SaleMode
from app.models.catalog import ProductStatus as S
from app.models.drops import PurchaseRight
from app.models.lines import Admission, LinePlace
from tests.helpers.drops import on_sale, open_sale
from tests.helpers.keys import key
from tests.helpers.proof import join_line
from tests.helpers.tables import count, rows
from tests.helpers.web import HTMX, buy, login, post_form, second_browser


async def waiting_room(members, products, starts, **fields):
    status = S.SCHEDULED if starts > utcnow() else S.ON_SALE
    values = {"status": status, "sale_starts_at": starts, "sale_mode": SaleMode.WAITING_ROOM} | fields
    return await products.create(await members.seller(), **values)


def join_form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)" id="join-line-form"', page)
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
    assert action == f"/products/{product.id}/line"
    r = await join_line(client, product.id)
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
    assert (await join_line(client, product.id)).status_code == 303
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
    r = await join_line(client, product.id)
    assert r.status_code == 303
    # place 3's own view admits nobody; the web process's loop lets place 1 in within a second
    said = text((await client.get(f"/products/{product.id}/line")).text)
    assert "Your place: 3 of 3" in said and "It's your turn" not in said
    assert "0 places let in so far" in said or "1 place let in so far" in said
    assert member.id not in {a.member_id for a in await rows(app, Admission)}
    await issue_all_due(app.state.database, app.state.settings, utcnow())
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
    assert (await join_line(client, product.id)).status_code == 303
    said = text((await client.get(f"/products/{product.id}/line")).text)
    assert "Your place: 1 of 1" in said and "It's your turn" in said and "Estimated wait" not in said


async def test_the_page_refreshes_itself_and_announces_changes_politely(client, members, products):
    product = await waiting_room(members, products, utcnow() + timedelta(minutes=5))
    await login(client, (await members.create()).email)
    page = (await client.get(f"/products/{product.id}/line")).text
    # only without JavaScript: a live page follows its stream instead of reloading
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in page
    assert page.count('http-equiv="refresh"') == 1
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
    assert (await join_line(client, product.id, headers={"Accept-Language": "ko"})).status_code == 303
    said = text((await client.get(f"/products/{product.id}/line", headers={"Accept-Language": "ko"})).text)
    assert "내 순번: 1명 중 1번" in said and "입장" in said and "Your place" not in said


# Let in: Buy with the admission


def line_buy_form(page: str) -> dict[str, str]:
    """The fields of the Buy form of a page (the line page's, or the product page's admitted one)."""
    match = re.search(r'<form[^>]*id="(?:line-buy-form|admitted-buy-form)".*?</form>', page, re.S)
    assert match, "no Buy form with an admission on the page"
    fields = dict(re.findall(r'<input type="hidden" name="(key|admission)" value="([^"]+)"', match.group(0)))
    assert set(fields) == {"key", "admission"}
    return fields


async def in_line(client, app, members, products, **fields):
    """A member signed in on ``client`` who has joined a waiting room on sale since a moment ago."""
    product = await waiting_room(members, products, utcnow() - timedelta(seconds=5), **fields)
    await open_sale(app, product.id)
    member = await members.create()
    await login(client, member.email)
    assert (await join_line(client, product.id)).status_code == 303
    return product, member


async def test_at_ones_turn_the_line_page_has_the_buy_form_and_it_buys(client, app, members, products):
    product, member = await in_line(client, app, members, products)
    page = (await client.get(f"/products/{product.id}/line")).text
    said = text(page)
    assert "It's your turn" in said
    assert re.search(r"You may buy one now: your turn lasts \d+:\d\d\.", said)
    assert re.search(r'<form method="post" action="/products/\d+/buy"[^>]*id="line-buy-form">', page)
    form = line_buy_form(page)
    r = await post_form(client, f"/products/{product.id}/buy", form)
    assert r.status_code == 303 and r.headers["location"] == "/me/purchases"
    rights = await rows(app, PurchaseRight)
    assert [(right.member_id, right.idempotency_key) for right in rights] == [(member.id, form["key"])]
    after = text((await client.get(f"/products/{product.id}/line")).text)
    assert "You used your turn." in after and "Buy now" not in after


async def test_buy_needs_the_admission_and_spends_it_once(client, app, members, products):
    product, _member = await in_line(client, app, members, products)
    form = line_buy_form((await client.get(f"/products/{product.id}/line")).text)
    bare = await buy(client, product.id, key())
    assert bare.status_code == 409 and "join the line to buy" in bare.text
    granted = await buy(client, product.id, form["key"], admission=form["admission"])
    assert granted.status_code == 200 and "Yours!" in granted.text
    replay = await buy(client, product.id, form["key"], admission=form["admission"])
    assert replay.status_code == 200 and "Yours!" in replay.text  # the same press: its answer again
    again = await buy(client, product.id, key(), admission=form["admission"])
    assert again.status_code == 409 and "already used for another press" in again.text
    assert f'href="/products/{product.id}/line"' in again.text
    plain = await buy(client, product.id, key(), htmx=False, admission=form["admission"])
    assert plain.status_code == 303 and plain.headers["location"] == f"/products/{product.id}/line"
    assert "already used for another press" in (await client.get(plain.headers["location"])).text
    assert len(await rows(app, PurchaseRight)) == 1


async def test_an_expired_a_forged_or_anothers_admission_is_refused_without_pressing(client, app, members, products):
    product, _member = await in_line(client, app, members, products, fixed_quantity=3)
    form = line_buy_form((await client.get(f"/products/{product.id}/line")).text)
    async with second_browser(client) as other:
        someone = await members.create()
        await login(other, someone.email)
        borrowed = await buy(other, product.id, key(), admission=form["admission"])
        assert borrowed.status_code == 409 and "join the line to buy" in borrowed.text
    for garbage in ["x", form["admission"][:-4] + "AAAA", "\u00e9" * 40, "." * 300]:
        r = await buy(client, product.id, key(), admission=garbage)
        assert r.status_code == 409 and "join the line to buy" in r.text
    async with app.state.database.transaction() as db:
        await db.execute(update(Admission).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await buy(client, product.id, key(), admission=form["admission"])
    assert expired.status_code == 409 and "This admission expired" in expired.text
    assert await rows(app, PurchaseRight) == []
    assert all(row.used_at is None for row in await rows(app, Admission))
    page = text((await client.get(f"/products/{product.id}/line")).text)
    assert "Your turn has passed: it was not used in time." in page


async def test_a_first_come_product_ignores_an_admission(client, app, members, products):
    product, _member = await in_line(client, app, members, products)
    form = line_buy_form((await client.get(f"/products/{product.id}/line")).text)
    plain = await on_sale(app, members, products, fixed=2)
    r = await buy(client, plain.id, key(), admission=form["admission"])
    assert r.status_code == 200 and "Yours!" in r.text
    assert all(row.used_at is None for row in await rows(app, Admission))


async def test_the_product_pages_buy_box_offers_buy_only_with_a_live_admission(client, app, members, products):
    product, _member = await in_line(client, app, members, products, fixed_quantity=1)
    await client.get(f"/products/{product.id}/line")  # let in
    page = (await client.get(f"/products/{product.id}")).text
    assert '<form id="buy-box"' not in page  # never the plain Buy of a first-come sale
    form = line_buy_form(page)
    assert 'id="join-line-form"' not in page and "See your place" not in page
    assert re.search(r"It's your turn</strong> You may buy one now: your turn lasts", page)
    box = (await client.get(f"/products/{product.id}/buy-box")).text
    assert line_buy_form(box)["admission"] == form["admission"]
    async with second_browser(client) as other:
        waiting = await members.create()
        await login(other, waiting.email)
        fresh = (await other.get(f"/products/{product.id}")).text
        assert 'id="join-line-form"' in fresh and "admission" not in fresh
        assert (await join_line(other, product.id)).status_code == 303
        await other.get(f"/products/{product.id}/line")  # the one unit is held for place 1
        joined = (await other.get(f"/products/{product.id}")).text
        assert "See your place" in joined and 'name="admission"' not in joined
    async with second_browser(client) as visitor:
        anonymous = (await visitor.get(f"/products/{product.id}")).text
    assert "Sign in to join the line" in anonymous and 'name="admission"' not in anonymous
    r = await buy(client, product.id, form["key"], admission=form["admission"])
    assert r.status_code == 200 and "Yours!" in r.text
    assert 'name="admission"' not in (await client.get(f"/products/{product.id}")).text


async def test_when_the_units_are_gone_those_waiting_are_told_at_once(client, app, members, products):
    product, _member = await in_line(client, app, members, products, fixed_quantity=1)
    form = line_buy_form((await client.get(f"/products/{product.id}/line")).text)
    async with second_browser(client) as other:
        waiting = await members.create()
        await login(other, waiting.email)
        assert (await join_line(other, product.id)).status_code == 303
        before = text((await other.get(f"/products/{product.id}/line")).text)
        assert "Your place: 2 of 2" in before and "The units are gone" not in before
        assert (await buy(client, product.id, form["key"], admission=form["admission"])).status_code == 200
        after = text((await other.get(f"/products/{product.id}/line")).text)
        assert "The units are gone: every one is taken." in after
        assert "if they do, the line moves on in order" in after and "Estimated wait" not in after
        korean = text((await other.get(f"/products/{product.id}/line", headers={"Accept-Language": "ko"})).text)
        assert "품절이에요" in korean and "미결제 수량이 다시 풀릴 수 있어요" in korean


async def test_a_korean_line_page_at_ones_turn_speaks_korean(client, app, members, products):
    product, _member = await in_line(client, app, members, products)
    said = text((await client.get(f"/products/{product.id}/line", headers={"Accept-Language": "ko"})).text)
    assert "입장할 차례예요" in said and "지금 1개를 구매할 수 있어요" in said and "Buy now" not in said


# Live: the page follows the line's stream; its own part (the box) is fetched again by itself


def flat(page: str) -> str:
    """The markup with every run of white space as one space (attributes wrap across lines)."""
    return re.sub(r"\s+", " ", page)


def box_of(page: str) -> str:
    match = re.search(r'<div id="line-box".*', page, re.S)
    assert match, "no line box"
    return match.group(0)


async def test_the_line_page_follows_its_stream_in_a_polite_region(client, app, members, products):
    product, _member = await in_line(client, app, members, products, admission_rate_per_minute=1)
    page = (await client.get(f"/products/{product.id}/line")).text
    assert f'<div id="line-live" hx-ext="sse" sse-connect="/products/{product.id}/line/events">' in page
    section = re.search(r'<section[^>]*aria-live="polite".*?</section>', flat(page))
    assert section and 'sse-swap="line"' in section.group(0) and 'id="line-box"' in section.group(0)
    assert 'data-line-state data-started="1" data-total="1" data-admitted="1" data-gone="0"' in section.group(0)
    assert '<script src="/static/js/line-live.js" defer></script>' in page
    assert f'hx-get="/products/{product.id}/line/box" hx-trigger="line-phase"' in page


async def test_the_box_at_ones_turn_holds_the_buy_form_and_buys_in_place(client, app, members, products):
    product, _member = await in_line(client, app, members, products)
    box = await client.get(f"/products/{product.id}/line/box", headers=HTMX)
    assert box.status_code == 200 and box.headers["content-type"].startswith("text/html")
    assert re.match(r'\s*<div id="line-box" class="line-box" data-phase="turn" data-place="1"', box.text)
    assert "<title>" not in box.text and "It's your turn" in text(box.text)
    assert re.search(r'<form [^>]*hx-post="/products/\d+/buy" hx-target="#line-box"[^>]*id="line-buy-form"', box.text)
    form = line_buy_form(box.text)
    answer = await buy(client, product.id, form["key"], admission=form["admission"])
    assert answer.status_code == 200 and "Yours!" in answer.text
    after = (await client.get(f"/products/{product.id}/line/box")).text
    assert "You used your turn." in text(after) and 'name="admission"' not in after


async def test_the_box_before_ones_turn_says_who_is_ahead_and_the_wait(client, app, members, products):
    product = await waiting_room(members, products, utcnow() - timedelta(seconds=5), admission_rate_per_minute=1)
    await open_sale(app, product.id)
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        assert (await join_line(other, product.id)).status_code == 303  # place 1, let in at the start
    await login(client, (await members.create()).email)
    assert (await join_line(client, product.id)).status_code == 303
    await issue_all_due(app.state.database, app.state.settings, utcnow())  # the web process's loop
    box = flat((await client.get(f"/products/{product.id}/line/box")).text)
    assert 'data-phase="wait" data-place="2" data-rate="1"' in box
    said = text(box)
    assert "Your place: 2 of 2" in said and "1 place ahead of you" in said
    assert "Estimated wait: about 1 minute" in said and "You keep your place if you leave this page." in said
    # both forms of each sentence, for the page's script to count down with
    assert 'data-one="{n} place ahead of you" data-other="{n} places ahead of you"' in box
    assert 'data-other="Estimated wait: about {n} minutes"' in box and 'name="admission"' not in box
    korean = flat((await client.get(f"/products/{product.id}/line/box", headers={"Accept-Language": "ko"})).text)
    assert 'data-one="내 앞에 {n}명이 있어요"' in korean and "내 앞에 1명이 있어요" in text(korean)
    assert 'data-other="예상 대기 시간: 약 {n}분"' in korean and "ahead of you" not in korean


async def test_the_box_once_the_units_are_gone(client, app, members, products):
    product, _member = await in_line(client, app, members, products, fixed_quantity=1)
    form = line_buy_form((await client.get(f"/products/{product.id}/line")).text)
    async with second_browser(client) as other:
        await login(other, (await members.create()).email)
        assert (await join_line(other, product.id)).status_code == 303
        assert 'data-phase="wait"' in (await other.get(f"/products/{product.id}/line/box")).text
        assert (await buy(client, product.id, form["key"], admission=form["admission"])).status_code == 200
        gone = (await other.get(f"/products/{product.id}/line/box")).text
        page = (await other.get(f"/products/{product.id}/line")).text
    assert 'data-phase="gone" data-place="2"' in gone
    assert "if they do, the line moves on in order" in text(gone) and "Estimated wait" not in gone
    assert 'data-gone="1"' in page and box_of(page).startswith('<div id="line-box" class="line-box" data-phase="gone"')


async def test_before_the_start_the_box_says_the_places_are_drawn_and_the_grace(client, members, products):
    product = await waiting_room(members, products, utcnow() + timedelta(minutes=5))
    await login(client, (await members.create()).email)
    assert (await join_line(client, product.id)).status_code == 303
    box = (await client.get(f"/products/{product.id}/line/box")).text
    assert 'data-phase="before" data-place=""' in box
    said = text(box)
    assert "Places are drawn at random when the sale starts at" in said
    assert "You keep your place if you leave this page. When your turn comes, you have 10 minutes to buy." in said
    page = (await client.get(f"/products/{product.id}/line")).text
    assert 'data-started="0" data-total="1"' in page and "1 member in the line so far." in text(page)
