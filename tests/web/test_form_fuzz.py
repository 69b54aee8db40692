"""Hostile values posted to every form route of the app (found in its route table, so a new route is
covered without a change here), signed in as the kind of member the route is for, with a valid CSRF
token: no answer is a 500, and a refusal (4xx) writes no row to any table. Every page is also
asked with hostile values in every query parameter the app declares."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db import make_engine
from app.drops.service import Press
from app.models.auctions import Notification, NotificationKind
from app.notifications.service import notify
from app.sellers.service import SellerService
from tests.helpers.auctions import live_auction
from tests.helpers.drops import on_sale, service
from tests.helpers.fuzz import fill, form_fields, forms, page_routes, post_routes, query_names, row_counts
from tests.helpers.keys import key
from tests.helpers.orders import paid_order
from tests.helpers.web import HTMX, login, post_form, second_browser

BUDGET_SECONDS = 40  # the examples this leaves time for; the rest return at once
SIGNS_IN_OR_OUT = {"/login", "/signup", "/logout", "/me/withdraw"}


@pytest.fixture
def settings(settings):
    # Nothing runs beside the requests (no relay, worker or sweeps), so any new row is the request's;
    # the login throttle stays out of the way of the fuzzed logins and of signing in again.
    return settings.with_changes(
        in_process_worker=False,
        background_jobs=False,
        login_failures_per_pair=10**6,
        login_failures_per_address=10**6,
        login_slow_after=10**6,
    )


@pytest.fixture
async def world(client, app, members, products):
    """A shopper with a paid order, a held purchase right, a notice and a live auction to bid on; the
    seller of the order's product; an admin; a member with a pending seller application."""
    order, payment = await paid_order(app, members, products, fixed=3)
    shopper = await members.get(order.member_id)
    product = await on_sale(app, members, products, fixed=3)
    right = await service(app).press(Press(product.id, shopper.id, key()))
    auction = await live_auction(app, members, products)
    applicant, admin = await members.create(), await members.admin()
    async with app.state.database.transaction() as db:
        await notify(db, shopper.id, NotificationKind.OUTBID, "Outbid", f"/auctions/{auction.id}", "fuzz")
        application = await SellerService(db).apply(applicant, "Fuzz Works", "fuzz@example.test", "We make things.")
    async with app.state.database.transaction() as db:
        notice = (await db.execute(select(Notification.id))).scalar_one()
    seller = await members.get(product.seller_id)
    ids = {
        "order_id": order.id,
        "payment_id": payment.id,
        "right_id": right.right_id,
        "product_id": product.id,
        "auction_id": auction.id,
        "notification_id": notice,
        "application_id": application.id,
        "member_id": applicant.id,
        "category_id": product.category_id,
        "event_id": "1",
    }
    engine = make_engine(app.state.settings.database_url, pool_size=1)
    stack = AsyncExitStack()
    stack.push_async_callback(engine.dispose)
    async with stack:
        browsers = {"shopper": client}
        for role in ("seller", "admin"):
            browsers[role] = await stack.enter_async_context(second_browser(client))
        emails = {"shopper": shopper.email, "seller": seller.email, "admin": admin.email}
        yield {"engine": engine, "ids": ids, "browsers": browsers, "emails": emails}


@pytest.fixture
def fuzzing(world):
    """The fuzz test's clock and the examples it ran (at least the explicit ones, however slow the machine)."""
    world |= {"started": time.monotonic(), "examples": []}
    yield world
    print(f"{len(world['examples'])} forms posted to every form route")
    assert len(world["examples"]) >= 4


def role_of(path: str) -> str:
    if path.startswith("/admin"):
        return "admin"
    if path.startswith("/seller/") and path != "/seller/apply":
        return "seller"
    return "shopper"


def ids_for(path: str, ids: dict) -> dict:
    """``target_id`` names a product on the admin's product pages and a member elsewhere."""
    target = ids["product_id"] if path.startswith("/admin/products") else ids["member_id"]
    return ids | {"target_id": target}


FIELDS = form_fields()


@pytest.mark.slow
@fuzz_settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing form is reported as drawn
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(form=forms(FIELDS), htmx=st.booleans())
@example(form=dict.fromkeys(FIELDS, "²"), htmx=False)
@example(form=dict.fromkeys(FIELDS, "٣") | {"key": key()}, htmx=True)
@example(form=dict.fromkeys(FIELDS, "99999999999999999999") | {"key": key()}, htmx=False)
@example(form=dict.fromkeys(FIELDS, "\u202eadmin\u200b"), htmx=False)
async def test_no_form_value_makes_a_500_and_a_refusal_writes_nothing(app, fuzzing, form, htmx):
    world = fuzzing
    if time.monotonic() - world["started"] > BUDGET_SECONDS:
        return
    world["examples"].append(1)
    browsers, emails = world["browsers"], world["emails"]
    for role, browser in browsers.items():
        await login(browser, emails[role])
    routes = post_routes(app)
    assert len(routes) >= 30  # the route table is seen
    counts = await row_counts(world["engine"])
    for route in routes:
        browser = browsers[role_of(route)]
        url = fill(route, ids_for(route, world["ids"]))
        r = await post_form(browser, url, form, headers=HTMX if htmx else None)
        assert r.status_code < 500, (url, r.status_code, r.text[:300])
        before, counts = counts, await row_counts(world["engine"])
        if r.status_code >= 400:
            assert counts == before, (url, r.status_code, {t: n for t, n in counts.items() if before[t] != n})
        if route in SIGNS_IN_OR_OUT:
            await login(browser, emails[role_of(route)])
            counts = await row_counts(world["engine"])


HOSTILE_QUERY = ["²", "٣", "１", "99999999999999999999", "-1", "\u202eadmin\u200b", "\x01\x1b", "x" * 600, ""]


@pytest.mark.slow
async def test_no_query_string_makes_a_500_on_any_page(app, world):
    names, routes = query_names(), page_routes(app)
    assert len(routes) >= 40 and {"page", "q", "status", "category"} <= set(names)
    for role, browser in world["browsers"].items():
        await login(browser, world["emails"][role])
    for value in HOSTILE_QUERY:
        for route in routes:
            browser = world["browsers"][role_of(route)]
            url = fill(route, ids_for(route, world["ids"]))
            r = await browser.get(url, params=dict.fromkeys(names, value))
            assert r.status_code < 500, (url, repr(value)[:40], r.status_code)
