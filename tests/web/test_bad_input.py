"""Input that used to make a 500, through HTTP: path ids beyond the database's integers on every
route with an id in its path, control characters in an address or a form, superscript and other
non-ASCII digits in the gateway's success URL, passwords of megabytes, refunds sent at once. Each
is a 4xx that says why, and changes nothing."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from app.core.numbers import MAX_ID
from app.models.members import Member, MemberStatus
from app.models.payments import Payment, PaymentAudit, PaymentStatus, Refund
from app.web.forms import NUL_IN_FORM
from app.web.input_guard import BAD_ADDRESS
from tests.helpers.orders import open_checkout, paid_order, pay_with
from tests.helpers.web import as_admin, field_error, login, post_form, second_browser, signed_in

BAD_IDS = ["99999999999999999999", str(2**63), str(MAX_ID + 1), "٣", "²", "３", "0"]


def id_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route with an int parameter in its path."""
    found = []
    for route in app.routes:
        if ":int}" in route.path:
            found += [(method, route.path) for method in sorted(route.methods) if method in ("GET", "POST")]
    return found


async def ask(client, method: str, path: str):
    return await (post_form(client, path) if method == "POST" else client.get(path))


async def test_a_path_id_beyond_the_database_is_a_404_on_every_route_with_an_id(client, app, members):
    routes = id_routes(app)
    assert len({path for _, path in routes}) >= 18
    for signed_in_as in ("anonymous", "admin"):
        if signed_in_as == "admin":
            await as_admin(client, members)
        for method, path in routes:
            for bad in BAD_IDS:
                url = re.sub(r"{\w+:int}", bad, path)
                r = await ask(client, method, url)
                assert r.status_code == 404, (signed_in_as, method, url, r.status_code)
    for method, url, message in [
        ("GET", "/products/99999999999999999999", "This product does not exist."),
        ("GET", "/auctions/٣", "This auction does not exist."),
        ("POST", "/admin/members/4294967296/suspend", "This member does not exist."),
        ("POST", "/admin/products/0/hide", "This product does not exist."),
        ("GET", "/me/purchases/٣٣/pay", "This purchase right does not exist."),
    ]:
        assert message in (await ask(client, method, url)).text, url


async def test_a_control_character_in_an_address_is_a_400_that_says_so(client, app, members):
    assert (await client.get("/static/css/smore.css")).status_code == 200  # real files are still served
    await signed_in(client, members)
    for url in (
        "/static/a%00b",
        "/static/css/smore.css%00.png",
        "/uploads/a%00b.jpg",
        "/uploads/%00",
        "/static/a%01b",
        "/categories/fig%00ures",
        "/search?q=%00",
        "/admin/members?q=a%00",
        "/login?next=/%00",
    ):
        r = await client.get(url)
        assert r.status_code == 400, url
        assert str(BAD_ADDRESS) in r.text, url
        assert r.headers["content-type"].startswith("text/html")


async def test_a_nul_in_any_form_field_is_refused_and_changes_nothing(client, app, members, products):
    """Before any field's own check: PostgreSQL cannot store a NUL, so no field may carry one."""
    order, _payment = await paid_order(app, members, products)
    member = await members.get(order.member_id)
    await login(client, member.email)
    for data in ({"display_name": "Mina\x00"}, {"display_name": "Mina", "unused": "\x00"}):
        r = await post_form(client, "/me", data)
        assert r.status_code == 400 and str(NUL_IN_FORM) in r.text
    for data in (
        {"kind": "money", "quantity": "0", "amount": "1\x00", "reason": "x"},
        {"quantity": "1", "reason": "\x00"},
    ):
        r = await post_form(client, f"/orders/{order.id}/refund", data)
        assert r.status_code == 400 and str(NUL_IN_FORM) in r.text
    assert (await members.get(member.id)).display_name == member.display_name
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Refund)) == 0


async def test_non_ascii_digits_in_the_success_url_amount_charge_nothing(client, shop, members, products):
    _member, order_id, _right, query = await open_checkout(client, shop, members, products)
    for amount in ("²", "10000²", "١٠٠٠٠", "１００００", "99999999999999999999", "-10000"):
        url = f"/orders/{order_id}/pay/success?paymentKey=pk-x&orderId={query['orderId'][0]}&amount={amount}"
        r = await client.get(url)
        assert r.status_code == 400, amount
        assert "incomplete answer" in r.text and "Nothing was charged" in r.text
    async with shop.state.database.transaction() as db:
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
        assert payment.status is PaymentStatus.READY
        confirms = select(func.count()).select_from(PaymentAudit).where(PaymentAudit.kind == "gateway.confirm")
        assert await db.scalar(confirms) == 0


class CountingContext:
    """The hasher's passlib context, counting what it is asked (every call still goes through)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, []

    def hash(self, password: str) -> str:
        self.calls.append(("hash", len(password)))
        return self.inner.hash(password)

    def verify(self, password: str, target: str) -> bool:
        self.calls.append(("verify", len(password)))
        return self.inner.verify(password, target)


@pytest.fixture
def hashing(app):
    hasher = app.state.hasher
    counting = CountingContext(hasher._context)
    hasher._context = counting
    yield counting.calls
    hasher._context = counting.inner


async def test_a_password_of_megabytes_gets_a_clear_error_and_is_never_hashed(client, app, members, hashing):
    huge = "p" * 1_000_000
    r = await post_form(
        client,
        "/signup",
        {"email": "big@example.test", "display_name": "Big", "password": huge, "password_confirm": huge},
    )
    assert r.status_code == 422 and "at most 256 characters" in field_error(r.text, "password")
    member = await members.create()
    hashing.clear()
    r = await post_form(client, "/login", {"email": member.email, "password": huge})
    assert r.status_code == 400 and "at most 256 characters" in r.text and "1,000,000" in r.text
    await login(client, member.email)
    hashing.clear()
    r = await post_form(
        client, "/me/password", {"old_password": huge, "new_password": "y" * 20, "new_password_confirm": "y" * 20}
    )
    assert r.status_code == 422 and "at most 256 characters" in field_error(r.text, "old_password")
    r = await post_form(client, "/me/withdraw", {"password": "w" * 4097, "confirm": "yes"})
    assert r.status_code == 422 and "at most 256 characters" in field_error(r.text, "password")
    assert hashing == []  # nothing was hashed or verified for any of them
    async with app.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Member).where(Member.email == "big@example.test")) == 0
        stored = await db.get(Member, member.id)
        assert stored.password_hash == member.password_hash and stored.status is MemberStatus.ACTIVE


async def test_refunds_sent_at_once_are_served_one_by_one_and_never_a_500(client, shop, members, products):
    """On SQLite a refund that read before another committed could not write ("database is
    locked"): twelve at once for the order's one unit, while the worker refunds the first at the
    gateway. One is reserved, the others are told the unit is taken, none is a 500."""
    _member, order_id, _right, query = await open_checkout(client, shop, members, products)
    assert (await client.get(await pay_with(client, query, "approve"))).status_code == 303

    async def refund(_n: int):
        async with second_browser(client) as browser:
            browser.cookies.update(client.cookies)
            return await post_form(browser, f"/orders/{order_id}/refund", {"quantity": "1", "reason": "broken"})

    answers = await asyncio.gather(*(refund(n) for n in range(12)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [303] + [422] * 11, statuses
    for refused in (r for r in answers if r.status_code == 422):
        assert field_error(refused.text, "quantity") or "cannot be refunded now" in refused.text
    async with shop.state.database.transaction() as db:
        assert await db.scalar(select(func.count()).select_from(Refund)) == 1
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
        assert payment.refunded_amount + payment.refund_reserved == payment.amount == 10_000


async def test_a_price_filter_on_a_shop_with_nothing_indexed_yet_is_a_page(client):
    for query in ("min_price=1000", "max_price=²", "min_price=1&max_price=99999999999999999999"):
        r = await client.get(f"/search?{query}")
        assert r.status_code == 200, query
