"""The sandbox gateway's hosted checkout window through the app: the page, its checks, paying with a
test card (303 to the successUrl) and cancelling (303 to the failUrl), without the shop's CSRF."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from app.gateway.sandbox_checkout import checkout_url
from app.gateway.sandbox_payments import SANDBOX_CARDS

CLIENT_KEY = "test_ck_smore_sandbox"


def order(**changes: str) -> dict[str, str]:
    params = {
        "clientKey": CLIENT_KEY,
        "orderId": "smore-41-a1b2c3",
        "orderName": "Signed print <No. 7> and 2 more",
        "amount": "1234567",
        "successUrl": "http://testserver.local/orders/41/pay/success?from=checkout",
        "failUrl": "http://testserver.local/orders/41/pay/fail",
        "customerEmail": "shopper@example.test",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


async def test_the_window_shows_the_order_the_amount_and_the_test_cards(client):
    response = await client.get(f"/sandbox-gateway/checkout?{urlencode(order())}")
    assert response.status_code == 200
    html = response.text
    assert "Signed print &lt;No. 7&gt; and 2 more" in html and "<No. 7>" not in html
    assert "₩1,234,567" in html and "Pay ₩1,234,567" in html
    for card in SANDBOX_CARDS:
        assert str(card.name) in html and card.number in html and f'value="{card.id}"' in html
    assert "Cancel payment" in html and "TEST MODE" in html


def test_checkout_url_builds_the_query_the_window_reads():
    url = checkout_url(
        "http://127.0.0.1:8000/sandbox-gateway/",
        client_key=CLIENT_KEY,
        order_id="smore-1-abcdef",
        order_name="Tee",
        amount=12_000,
        success_url="http://shop.test/ok",
        fail_url="http://shop.test/fail",
    )
    parts = urlsplit(url)
    assert parts.path == "/sandbox-gateway/checkout"
    assert parse_qs(parts.query)["amount"] == ["12000"] and "customerEmail" not in parse_qs(parts.query)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"amount": None}, "amount must be a whole number"),
        ({"amount": "12,000"}, "amount must be a whole number"),
        ({"amount": "-5"}, "amount must be a whole number"),
        ({"amount": "99"}, "amount must be a whole number"),
        ({"successUrl": "javascript:alert(1)"}, "successUrl must be an absolute http"),
        ({"failUrl": "/orders/41/pay/fail"}, "failUrl must be an absolute http"),
        ({"orderId": "a b"}, "orderId must be 6 to 64 characters"),
        ({"orderName": ""}, "orderName is required"),
        ({"customerEmail": "nobody"}, "customerEmail is not an email address"),
    ],
)
async def test_a_bad_query_gets_a_clear_400_page(client, changes, problem):
    response = await client.get(f"/sandbox-gateway/checkout?{urlencode(order(**changes))}")
    assert response.status_code == 400
    assert "The payment window could not open" in response.text and problem in response.text


async def test_paying_with_a_card_returns_to_the_success_url_with_the_payment_key(client):
    # No CSRF token and no shop session: the window belongs to the gateway, not the shop.
    response = await client.post("/sandbox-gateway/checkout", data={**order(), "card": "approve", "action": "pay"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.geturl().startswith("http://testserver.local/orders/41/pay/success?")
    query = parse_qs(location.query)
    assert query["from"] == ["checkout"] and query["orderId"] == ["smore-41-a1b2c3"]
    assert query["amount"] == ["1234567"] and query["paymentKey"][0].startswith("tsbx_")
    again = await client.post("/sandbox-gateway/checkout", data={**order(), "card": "approve", "action": "pay"})
    assert parse_qs(urlsplit(again.headers["location"]).query)["paymentKey"] != query["paymentKey"]


async def test_cancelling_returns_to_the_fail_url_with_the_code(client):
    response = await client.post("/sandbox-gateway/checkout", data={**order(), "action": "cancel"})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.geturl().startswith("http://testserver.local/orders/41/pay/fail?")
    query = parse_qs(location.query)
    assert query["code"] == ["PAY_PROCESS_CANCELED"] and query["orderId"] == ["smore-41-a1b2c3"]
    assert query["message"][0]


async def test_paying_without_a_card_shows_the_window_again(client):
    response = await client.post("/sandbox-gateway/checkout", data={**order(), "card": "gold", "action": "pay"})
    assert response.status_code == 400
    assert "Choose a test card" in response.text and "₩1,234,567" in response.text


async def test_a_wrong_client_key_is_refused(client):
    page = await client.get(f"/sandbox-gateway/checkout?{urlencode(order(clientKey='test_ck_other'))}")
    assert page.status_code == 401 and "client key is not valid" in page.text
    form = {**order(clientKey="test_ck_other"), "card": "approve", "action": "pay"}
    posted = await client.post("/sandbox-gateway/checkout", data=form)
    assert posted.status_code == 401 and "location" not in posted.headers
