"""What the drop pages tell one viewer: what they hold of a product after a reload, Buy only when it
can be used (never to the seller), the Buy result taking the focus, the order page's picture and
countdown, the sandbox checkout keeping its styles when reached by a boosted navigation, and the
pages in Korean with times in KST."""

from __future__ import annotations

import re

from app.models.catalog import ProductImage
from tests.helpers.drops import on_sale
from tests.helpers.keys import key
from tests.helpers.orders import open_checkout
from tests.helpers.web import buy, login, post_form, signed_in


async def test_after_a_reload_the_product_page_says_what_the_shopper_holds(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5, limit=1)
    await signed_in(client, members)
    assert "Yours!" in (await buy(client, product.id, key())).text
    page = (await client.get(f"/products/{product.id}")).text
    held = re.search(r'<p class="buy-yours" id="you-hold">.*?</p>', page, re.S).group(0)
    assert "You hold 1 — pay within" in held and re.search(r">\d+:\d\d<", held)  # server-rendered countdown
    assert 'id="hold-pay"' in page and re.search(r'href="/me/purchases/\d+/pay"', page)
    assert "You already hold your limit" in page and 'class="buy-button"' not in page


async def test_buy_is_hidden_when_sold_out_and_never_offered_to_the_seller(client, app, members, products):
    product = await on_sale(app, members, products, fixed=1)
    seller = await members.get(product.seller_id)
    await login(client, seller.email)
    box = await client.get(f"/products/{product.id}/buy-box")
    assert box.status_code == 200 and 'class="buy-button"' not in box.text
    shopper = await members.create()
    await login(client, shopper.email)
    assert 'class="buy-button"' in (await client.get(f"/products/{product.id}/buy-box")).text
    other = await members.create()
    await login(client, other.email)
    await buy(client, product.id, key())  # the last unit
    await login(client, shopper.email)
    page = (await client.get(f"/products/{product.id}")).text
    assert 'class="buy-button"' not in page and 'id="sold-out"' in page
    assert 'aria-live="polite"' in page.split('id="live-stock"')[0][-200:] + page.split('id="live-stock"')[1][:60]


async def test_the_buy_result_takes_the_focus(client, app, members, products):
    product = await on_sale(app, members, products, fixed=5)
    await signed_in(client, members)
    result = (await buy(client, product.id, key())).text
    assert re.search(r'<div id="buy-box"[^>]*tabindex="-1" autofocus', result)


async def test_the_order_page_shows_the_picture_and_a_countdown(client, app, members, products):
    _member, order_id, _right, _query = await open_checkout(client, app, members, products)
    async with app.state.database.transaction() as db:
        from app.models.orders import Order

        order = await db.get(Order, order_id)
        db.add(
            ProductImage(
                product_id=order.product_id, position=0, stem="pic", extension="jpg",
                content_type="image/jpeg", width=800, height=600, size_bytes=1000,
            )
        )  # fmt: skip
    page = (await client.get(f"/orders/{order_id}")).text
    assert 'id="order-picture"' in page and 'alt="' in page
    clock = re.search(r'<span class="countdown" data-deadline="[^"]+"[^>]*>([^<]+)</span>', page).group(1)
    assert re.fullmatch(r"\d+:\d\d left to pay", clock)
    assert re.search(r'<form method="post" action="/orders/\d+/pay" class="actions" hx-boost="false">', page)


async def test_the_checkout_reached_by_a_boosted_navigation_keeps_its_styles(client, app, members, products):
    _member, order_id, _right, _query = await open_checkout(client, app, members, products)
    r = await post_form(client, f"/orders/{order_id}/pay")
    url = r.headers["location"]
    boosted = await client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    body = boosted.text.split("<body", 1)[1]
    assert '<link rel="stylesheet" href="/static/css/sandbox-pay.css">' in body  # htmx swaps the body only
    assert body.count('class="card-option"') == 5


async def test_the_drop_pages_speak_korean_with_times_in_kst(client, app, members, products):
    _member, order_id, _right, query = await open_checkout(client, app, members, products)
    ko = {"Accept-Language": "ko"}
    order = (await client.get(f"/orders/{order_id}", headers=ko)).text
    assert '<html lang="ko">' in order and "결제 기한" in order and "KST" in order
    checkout = await client.get("/sandbox-gateway/checkout", params={k: v[0] for k, v in query.items()}, headers=ko)
    assert '<html lang="ko">' in checkout.text and "테스트 카드" in checkout.text and "거절됨" in checkout.text
    purchases = (await client.get("/me/purchases", headers=ko)).text
    assert "내 구매 권한" in purchases and "Waiting for payment" not in purchases
