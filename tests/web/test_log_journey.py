"""A shopper's whole journey through the real app with the log captured at DEBUG in JSON: sign
up and confirm the address with the mailed link, sign in, forget the password and reset it with the
mailed link, browse and buy a product, pay
through the sandbox gateway, return the unit for a refund (the worker cancels at the gateway).
No secret the journey used is anywhere in the log (the passwords, the confirmation and reset
tokens, the session
cookies, the CSRF tokens, the gateway's secret key); every access line carries its request id,
the member's id once signed in, and an ``X-Request-ID`` given is the one logged and answered."""

from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.models.drops import PurchaseRight
from app.models.members import Member
from app.models.payments import Refund, RefundStatus
from tests.helpers.drops import on_sale
from tests.helpers.gateway import money_when
from tests.helpers.logs import captured_log
from tests.helpers.mail import confirm_path, outbox, reset_path
from tests.helpers.orders import ask_refund, pay_with, settled_refund
from tests.helpers.waiting import wait_for
from tests.helpers.web import buy, login, post_form

EMAIL = "journey@example.test"
_FORM_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Seen:
    """The secrets the browser held along the way: every cookie value and every form's token."""

    def __init__(self, client) -> None:
        self.client = client
        self.values: set[str] = set()

    def note(self, response=None) -> None:
        self.values |= {value for name, value in self.client.cookies.items() if name != "lang"}
        if response is not None:
            self.values |= set(_FORM_TOKEN.findall(response.text))


async def _sign_up_and_in(client, app, seen: Seen, password: str) -> str:
    seen.note(await client.get("/signup"))
    data = {"email": EMAIL, "display_name": "Journey", "password": password, "password_confirm": password}
    assert (await post_form(client, "/signup", data)).status_code == 303
    (mail,) = await outbox(app, EMAIL, kind="email_confirm")
    path = confirm_path(mail.body)
    seen.note(await client.get(path))
    token = path.split("token=", 1)[1]
    assert (await post_form(client, "/account/confirm", {"token": token})).status_code == 303
    seen.note(await client.get("/me"))
    assert (await post_form(client, "/logout")).status_code == 303
    await login(client, EMAIL, password)
    seen.note(await client.get("/me"))
    assert (await post_form(client, "/logout")).status_code == 303
    return token


async def _reset_password(client, app, seen: Seen, new_password: str) -> str:
    seen.note(await client.get("/password/forgot"))
    assert (await post_form(client, "/password/forgot", {"email": EMAIL})).status_code == 303
    mails = await wait_for(lambda: outbox(app, EMAIL, kind="password_reset"), 15, "the reset mail")
    path = reset_path(mails[-1].body)
    seen.note(await client.get(path))
    r = await post_form(client, path, {"password": new_password, "password_confirm": new_password})
    assert r.status_code == 303, r.text
    await login(client, EMAIL, new_password)
    seen.note(await client.get("/me"))
    return path.rsplit("/", 1)[1]


async def _buy_and_pay(client, app, seen: Seen, product_id: int, member_id: int) -> int:
    seen.note(await client.get("/"))
    page = await client.get(f"/products/{product_id}")
    seen.note(page)
    press_key = re.search(r'name="key" value="([0-9a-f]{32})"', page.text).group(1)
    assert "Yours!" in (await buy(client, product_id, press_key)).text
    async with app.state.database.transaction() as db:
        right = (await db.execute(select(PurchaseRight).where(PurchaseRight.member_id == member_id))).scalar_one()
    order_url = (await client.get(f"/me/purchases/{right.id}/pay")).headers["location"]
    seen.note(await client.get(order_url))
    checkout = urlsplit((await post_form(client, f"{order_url}/pay")).headers["location"])
    seen.note(await client.get(f"{checkout.path}?{checkout.query}"))
    back = await pay_with(client, parse_qs(checkout.query), "approve")
    assert (await client.get(back)).status_code == 303
    order_id = int(order_url.rsplit("/", 1)[1])
    await money_when(app, order_id, lambda state: state.nets, "the payment's settlement entry")
    return order_id


async def _return_for_a_refund(client, app, seen: Seen, order_id: int) -> None:
    seen.note(await client.get(f"/orders/{order_id}/refund"))
    r = await ask_refund(client, order_id, {"kind": "units", "quantity": "1", "reason": "changed my mind"})
    assert r.status_code == 303
    async with app.state.database.transaction() as db:
        refund = (await db.execute(select(Refund).where(Refund.order_id == order_id))).scalar_one()
    assert (await settled_refund(app, refund.id)).status is RefundStatus.DONE


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_whole_journey_logs_no_secret_and_every_line_says_whose(client, shop, members, products):
    settings = shop.state.settings
    product = await on_sale(shop, members, products, fixed=3)
    first, second = f"first-{secrets.token_hex(8)}", f"second-{secrets.token_hex(8)}"
    seen = Seen(client)
    with captured_log(settings, "DEBUG") as log:
        confirmation = await _sign_up_and_in(client, shop, seen, first)
        token = await _reset_password(client, shop, seen, second)
        async with shop.state.database.transaction() as db:
            member_id = (await db.execute(select(Member.id).where(Member.email == EMAIL))).scalar_one()
        order_id = await _buy_and_pay(client, shop, seen, product.id, member_id)
        await _return_for_a_refund(client, shop, seen, order_id)
        chosen = await client.get(f"/orders/{order_id}", headers={"X-Request-ID": "journey-42"})
        seen.note(chosen)
    assert chosen.headers["x-request-id"] == "journey-42"

    used = {first, second, confirmation, token, settings.payment_secret_key, settings.secret_key, *seen.values}
    used.add(base64.b64encode(f"{settings.payment_secret_key}:".encode()).decode())
    assert len(seen.values) >= 4, "the journey held session cookies and CSRF tokens"
    text = log.text
    assert [secret for secret in used if secret in text] == []

    lines = log.lines()
    assert len(lines) > 100, "DEBUG: the libraries' lines are in the log too"
    requests = log.requests()
    assert all(re.fullmatch(r"[\x21-\x7e]{1,128}", line["request_id"]) for line in requests)
    assert len({line["request_id"] for line in requests}) == len(requests), "one id per request"
    signed_in_pages = [line for line in requests if (line["route"] or "").startswith(("/me", "/orders"))]
    assert signed_in_pages and all(line["member_id"] == member_id for line in signed_in_pages)
    assert [line.get("member_id") for line in requests if line["route"] == "/signup"] == [None, member_id]
    (last,) = [line for line in requests if line["request_id"] == "journey-42"]
    assert last["route"] == "/orders/{order_id}" and last["status"] == 200 and last["member_id"] == member_id
    # the shop's own calls to the gateway are logged within the request or message that made them
    calls = [line for line in lines if line["logger"] == "httpx" and "/v1/payments/" in line["event"]]
    assert calls and all("request_id" in line or "message_id" in line for line in calls)
    assert any("message_id" in line and line.get("actor") == "perform_refund" for line in calls)
    # the worker's lines name the message and the event it delivers
    deliveries = [line for line in lines if line.get("actor") == "handle_event"]
    assert deliveries and all(line["message_id"] and line["event_id"] for line in deliveries)
    assert {"drop.right_granted", "payment.done", "refund.reserved"} <= {line["topic"] for line in deliveries}
