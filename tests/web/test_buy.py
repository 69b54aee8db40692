"""Pressing Buy through the app: the form and its key, HTMX and plain-form answers, every refusal
with a clear message, the live stock stream, and the member's purchase rights page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from app.drops.service import Press
from app.drops.stock import ledger_sum, pay_right, release_right
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, SaleMode
from app.models.drops import PurchaseRight, RightStatus, StockEntry, StockReason
from tests.helpers.drops import expire_now, lose_the_gate, on_sale, service
from tests.helpers.keys import key
from tests.helpers.streams import read_stream
from tests.helpers.web import HTMX, buy, login, post_form, second_browser, signed_in


async def rights_of(app, member_id: int) -> list[PurchaseRight]:
    async with app.state.database.transaction() as db:
        stmt = select(PurchaseRight).where(PurchaseRight.member_id == member_id).order_by(PurchaseRight.id)
        return list((await db.execute(stmt)).scalars())


async def first_event(client, path: str, limit: float = 5.0) -> tuple[int, dict[str, str], str]:
    """Status, headers and the first server-sent event of ``path``."""
    start, body = await read_stream(client, path, lambda body: b"\r\n\r\n" in body or b"\n\n" in body, limit)
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], headers, re.split(r"\r?\n\r?\n", body.decode())[0]


async def test_the_product_page_has_the_buy_form_and_the_live_stock(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    r = await client.get(f"/products/{product.id}")
    assert r.status_code == 200
    form = re.search(r'<form id="buy-box".*?</form>', r.text, re.S).group(0)
    assert f'action="/products/{product.id}/buy"' in form and f'hx-post="/products/{product.id}/buy"' in form
    assert re.search(r'name="key" value="[0-9a-f]{32}"', form)
    assert f'sse-connect="/products/{product.id}/events"' in r.text
    keys = re.findall(r'name="key" value="([0-9a-f]{32})"', (await client.get(f"/products/{product.id}")).text)
    assert keys and keys[0] not in form, "every page view gets a key of its own"


async def test_htmx_press_gives_the_right_and_a_replay_gives_the_same(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    member = await signed_in(client, members)
    page = (await client.get(f"/products/{product.id}")).text
    k = re.search(r'name="key" value="([0-9a-f]{32})"', page).group(1)
    first = await buy(client, product.id, k)
    assert first.status_code == 200
    right = (await rights_of(app, member.id))[0]
    assert "Yours!" in first.text and "left to pay" in first.text
    assert f'href="/me/purchases/{right.id}/pay"' in first.text  # Pay now: the right's order
    again = await buy(client, product.id, k)
    assert again.status_code == 200 and "Yours!" in again.text
    deadline = re.compile(r'data-deadline="([^"]+)"')
    assert deadline.search(first.text).group(1) == deadline.search(again.text).group(1)
    assert [r.status for r in await rights_of(app, member.id)] == [RightStatus.HELD]


async def test_a_plain_form_press_redirects_to_my_purchases(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    member = await signed_in(client, members)
    r = await buy(client, product.id, key(), htmx=False)
    assert r.status_code == 303 and r.headers["location"] == "/me/purchases"
    page = (await client.get("/me/purchases")).text
    assert "It is yours!" in page
    [right] = await rights_of(app, member.id)
    assert f'id="right-{right.id}"' in page


async def test_the_flash_names_the_hold_the_shop_is_set_to(client, app, members, products):
    app.state.settings = app.state.settings.with_changes(purchase_hold_seconds=300)
    product = await on_sale(app, members, products, fixed=5)
    await signed_in(client, members)
    await buy(client, product.id, key(), htmx=False)
    page = (await client.get("/me/purchases")).text
    assert "It is yours! Pay within 5 minutes to keep it." in page


async def test_a_press_without_a_key_is_refused_clearly(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    member = await signed_in(client, members)
    r = await buy(client, product.id, None)
    assert r.status_code == 400 and "Reload the page" in r.text
    r = await buy(client, product.id, "not a key!", htmx=False)
    assert r.status_code == 303 and r.headers["location"] == f"/products/{product.id}"
    assert "Reload the page" in (await client.get(f"/products/{product.id}")).text
    assert await rights_of(app, member.id) == []


async def test_another_members_key_is_a_conflict(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5, limit=2)
    await signed_in(client, members)
    k = key()
    assert "Yours!" in (await buy(client, product.id, k)).text
    other = await members.create()
    async with second_browser(client) as browser:
        await login(browser, other.email)
        r = await buy(browser, product.id, k)
    assert r.status_code == 409 and "another member" in r.text
    assert await rights_of(app, other.id) == []


async def test_unknown_scheduled_and_sold_out_products(client, app, members, products):
    await signed_in(client, members)
    assert (await buy(client, 999_999, key())).status_code == 404
    seller = await members.seller()
    scheduled = await products.create(seller, status=ProductStatus.SCHEDULED)
    r = await buy(client, scheduled.id, key())
    assert r.status_code == 200 and "Not on sale yet" in r.text and "Yours!" not in r.text
    last_one = await on_sale(app, members, products, fixed=1)
    taker = await members.create()
    await service(app).press(Press(last_one.id, taker.id, key()))
    r = await buy(client, last_one.id, key())
    assert r.status_code == 200 and "Sold out" in r.text


async def test_anonymous_presses_go_to_the_login_page(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    r = await buy(client, product.id, key(), htmx=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await buy(client, product.id, key())
    assert r.headers["hx-redirect"].startswith("/login")


async def test_a_press_without_the_csrf_token_is_refused(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    member = await signed_in(client, members)
    r = await client.post(f"/products/{product.id}/buy", data={"key": key()}, headers=HTMX)
    assert r.status_code == 403
    assert await rights_of(app, member.id) == []


async def test_the_stock_stream_starts_with_the_current_stock(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    await service(app).press(Press(product.id, (await members.create()).id, key()))
    status, headers, event = await first_event(client, f"/products/{product.id}/events")
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert event.startswith("event: stock")
    assert re.search(r"<strong>4</strong> of 5 left", event)


async def test_my_purchases_lists_held_paid_and_expired_rights(client, app, members, products):
    member = await signed_in(client, members)
    drop = service(app)
    rights = {}
    for name in ("held", "paid", "expired"):
        product = await on_sale(app, members, products, fixed=3)
        rights[name] = (await drop.press(Press(product.id, member.id, key()))).right_id
    async with app.state.database.transaction() as db:
        await pay_right(db, rights["paid"])
        await db.execute(
            update(PurchaseRight)
            .where(PurchaseRight.id == rights["expired"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await release_right(db, rights["expired"], RightStatus.EXPIRED, StockReason.EXPIRY)
    page = (await client.get("/me/purchases")).text
    for name, right_id in rights.items():
        row = re.search(rf'<tr id="right-{right_id}">.*?</tr>', page, re.S).group(0)
        assert f"badge-right-{name}" in row
        assert ("data-deadline=" in row) is (name == "held")
        assert ("Give up" in row) is (name == "held")
    assert re.search(r'data-deadline="[^"]+"[^>]*>\d+:\d\d left to pay<', page)


async def test_giving_a_right_up_returns_the_unit(client, app, members, products):
    product = await on_sale(app, members, products, fixed=3)
    member = await signed_in(client, members)
    right_id = (await service(app).press(Press(product.id, member.id, key()))).right_id
    stranger = await members.create()
    stranger_right = (await service(app).press(Press(product.id, stranger.id, key()))).right_id
    assert (await post_form(client, f"/me/purchases/{stranger_right}/cancel")).status_code == 404
    assert (await post_form(client, "/me/purchases/999999/cancel")).status_code == 404
    r = await post_form(client, f"/me/purchases/{right_id}/cancel")
    assert r.status_code == 303 and r.headers["location"] == "/me/purchases"
    assert "went back on sale" in (await client.get("/me/purchases")).text
    async with app.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        assert fresh.fixed_left == 2 and await ledger_sum(db, product.id) == 2
        cancel = (await db.execute(select(StockEntry).where(StockEntry.reason == StockReason.CANCEL))).scalar_one()
        assert (cancel.delta, cancel.reference, cancel.actor_id) == (1, f"right:{right_id}", member.id)
        assert (await db.get(PurchaseRight, stranger_right)).status is RightStatus.HELD
    r = await post_form(client, f"/me/purchases/{right_id}/cancel")  # twice: nothing more comes back
    assert r.status_code == 303 and "already cancelled" in (await client.get("/me/purchases")).text
    async with app.state.database.transaction() as db:
        assert (await db.get(Product, product.id)).fixed_left == 2 and await ledger_sum(db, product.id) == 2


async def test_the_stream_of_an_unknown_or_draft_product_is_a_404(client, members, products):
    from app.models.catalog import ProductStatus

    draft = await products.create(await members.seller(), status=ProductStatus.DRAFT)
    for product_id in (draft.id, 999_999):
        r = await client.get(f"/products/{product_id}/events")
        assert r.status_code == 404


async def test_a_member_suspended_meanwhile_cannot_press_and_is_signed_out(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    member = await signed_in(client, members)
    await members.suspend(member, reason="chargebacks")
    r = await buy(client, product.id, key())
    assert r.status_code == 204 and r.headers["HX-Redirect"].startswith("/login")
    assert await rights_of(app, member.id) == []
    assert (await client.get("/me")).status_code == 303  # the session was signed out


async def test_a_replay_after_the_right_expired_says_so_even_when_the_gate_forgot_the_key(
    client, app, members, products
):
    product = await on_sale(app, members, products, fixed=2)
    member = await signed_in(client, members)
    mine = key()
    first = await buy(client, product.id, mine)
    right_id = re.search(r'data-right="(\d+)"', first.text).group(1)
    assert "Yours!" in first.text
    await expire_now(app, int(right_id))
    for forget in (False, True):  # answered from the gate, then by the database alone
        if forget:
            await lose_the_gate(service(app), product.id)
            await login(client, member.email)  # a Redis flush also takes the sessions
        again = await buy(client, product.id, mine)
        assert again.status_code == 200 and f'data-right="{right_id}"' in again.text
        assert "expired" in again.text and "Yours!" not in again.text


async def test_a_stamped_refusal_is_the_template_s_own_answer_in_each_language(client, app, members, products):
    """The common refusals are stamped from the template rendered once: the same markup as a full
    render, with this answer's product, new key and CSRF token, in the viewer's language."""
    from app.core.i18n import set_context

    await signed_in(client, members)
    seller = await members.seller()
    scheduled = await products.create(seller, status=ProductStatus.SCHEDULED)
    env = app.template_engine.engine
    for language, words in (("ko", "아직 판매 전이에요"), ("en", "Not on sale yet")):
        client.cookies.set("lang", language)
        answers = [await buy(client, scheduled.id, key()) for _ in range(2)]
        for r in answers:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        first, second = (r.text for r in answers)
        new_keys = [re.search(r'name="key" value="([0-9a-f]{32})"', text).group(1) for text in (first, second)]
        assert new_keys[0] != new_keys[1], "every answer gets a key of its own"
        token = re.search(r'name="_csrf_token" value="([^"]+)"', first).group(1)
        reset = set_context(lambda language=language: language, lambda: "Asia/Seoul")
        try:
            from app.drops.controllers import MESSAGES
            from app.drops.rules import Outcome, PressResult

            message = str(MESSAGES[Outcome.NOT_ON_SALE])
            expected = env.get_template("drops/_buy_result.html").render(
                result=PressResult(Outcome.NOT_ON_SALE),
                message=message,
                right=None,
                product_id=scheduled.id,
                key=new_keys[0],
                csrf_input=f'<input type="hidden" name="_csrf_token" value="{token}" />',
            )
        finally:
            reset()
        assert first == expected
        assert words in first


async def test_buy_on_a_draw_or_a_waiting_room_without_admission_sends_the_shopper_there(
    client, app, members, products
):
    draw = await on_sale(app, members, products, sale_mode=SaleMode.DRAW, draw_ends_at=utcnow() + timedelta(hours=1))
    room = await on_sale(app, members, products, sale_mode=SaleMode.WAITING_ROOM)
    member = await signed_in(client, members)
    r = await buy(client, draw.id, key())
    assert r.status_code == 409 and "sold by a draw" in r.text
    r = await buy(client, room.id, key())
    assert r.status_code == 409 and "join the line to buy" in r.text
    assert f'href="/products/{room.id}/line"' in r.text
    plain = await buy(client, room.id, key(), htmx=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/products/{room.id}/line"
    assert await rights_of(app, member.id) == []
    async with app.state.database.transaction() as db:
        assert [p.taken_quantity for p in [await db.get(Product, draw.id), await db.get(Product, room.id)]] == [0, 0]
