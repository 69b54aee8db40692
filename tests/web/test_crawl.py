"""Every GET route of the app, as a visitor, a shopper, a seller and an administrator, with and
without ``HX-Request: true``: no answer is a 5xx, each has its intended content type (HTML unless
the table below says otherwise) and every HTML page has a non-empty ``<title>``. The path
parameters are filled with the ids of a seeded shop, so the pages show real content."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers.web import HTMX, login
from tests.helpers.world import (
    ANY_TYPE,
    DOWNLOADS,
    FRAGMENTS,
    NOT_HTML,
    READERS_ONLY,
    STREAMS,
    World,
    fill,
    get_routes,
    seeded_world,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# Known not to hold yet: route → why (none today; /seller/apply, once served as JSON, has its own
# test below).
KNOWN: dict[str, str] = {}


def _title(html: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.S | re.I)
    return match.group(1).strip() if match else ""


BOOSTED = {**HTMX, "HX-Boosted": "true"}
# A full load; a boosted navigation (what a link or form of the page sends: the whole page back,
# with its title); a plain HTMX request (a page may answer with its fragment: no title needed).
VARIANTS = (("full load", {}), ("boosted", BOOSTED), ("HX-Request", HTMX))


def check(route: str, response: Any, *, fragment_allowed: bool = False) -> str | None:
    """What is wrong with one answer (None: nothing)."""
    status, content_type, body = response.status_code, response.headers.get("content-type", ""), response.text
    if status >= 500:
        return f"answered {status}"
    if 300 <= status < 400 or route in ANY_TYPE:
        return None
    if status == 204 and ("hx-redirect" in response.headers or "hx-location" in response.headers):
        return None  # an HTMX request sent elsewhere (to sign in)
    expected = NOT_HTML.get(route, "text/html")
    if route in DOWNLOADS and status < 300:
        expected = DOWNLOADS[route]
        disposition = response.headers.get("content-disposition", "")
        if not (disposition.startswith('attachment; filename="smore-') and body.startswith("\ufeff")):
            return f"answered {status} with {disposition or 'no disposition'} (expected a named CSV file with a BOM)"
    if route in READERS_ONLY and status < 300:
        expected = READERS_ONLY[route]
    if not content_type.startswith(expected):
        return f"answered {status} as {content_type or 'no content type'} (expected {expected})"
    if expected == "text/html" and route not in FRAGMENTS and not fragment_allowed and not _title(body):
        return f"answered {status} without a <title>"
    return None


# Pages each role must see in full (the seeded ids really fill them): role → routes answering 200.
OWN_PAGES = {
    "visitor": ["/", "/categories/{slug:str}", "/products/{product_id:int}", "/auctions/{auction_id:int}", "/login"],
    "shopper": ["/orders/{order_id:int}", "/orders/{order_id:int}/refund", "/me/purchases", "/me/bids", "/me"],
    "seller": [
        "/seller/products/{product_id:int}/stock",
        "/seller/products/{product_id:int}/fairness",
        "/seller/auctions/{auction_id:int}",
        "/seller/refunds/{refund_id:int}",
        "/seller/settlements",
        "/seller/orders",
        *[route for route in DOWNLOADS if route.startswith("/seller/")],
    ],
    "admin": [
        "/admin/payments/{payment_id:int}",
        "/admin/sellers/{application_id:int}",
        "/admin/members/{target_id:int}",
        *[route for route in DOWNLOADS if route.startswith("/admin/")],
        "/admin/ops",
        "/admin/products/{product_id:int}/fairness",
        *READERS_ONLY,
    ],
}


async def crawl(client, app, world: World) -> dict[str, list[str]]:
    """Every role's answers: route → the problems found (with role and variant)."""
    problems: dict[str, list[str]] = {}
    seen: dict[tuple[str, str], int] = {}
    routes = [r for r in get_routes(app) if r not in STREAMS]
    for role, email in world.emails().items():
        client.cookies.clear()
        if email:
            await login(client, email)
        for route in routes:
            url = fill(route, world)
            for variant, headers in VARIANTS:
                r = await client.get(url, headers=headers)
                if variant == "full load":
                    seen[role, route] = r.status_code
                wrong = check(route, r, fragment_allowed=variant == "HX-Request")
                if wrong:
                    problems.setdefault(route, []).append(f"{role}, {variant}: {url} {wrong}")
    for role, routes_seen in OWN_PAGES.items():
        for route in routes_seen:
            if seen[role, route] != 200:
                problems.setdefault(route, []).append(f"{role}: {route} answered {seen[role, route]}, not its page")
    return problems


@pytest.fixture
async def world(app, members, products) -> World:
    return await seeded_world(app, members, products)


def test_the_route_table_names_real_routes(app):
    """The tables above speak of routes that exist (a renamed route is not skipped silently)."""
    routes = set(get_routes(app))
    for table in (STREAMS, FRAGMENTS, ANY_TYPE, set(DOWNLOADS), set(READERS_ONLY), set(KNOWN)):
        assert table <= routes, table - routes
    assert (set(NOT_HTML) - {"/favicon.ico"}) <= routes, set(NOT_HTML) - routes


async def test_every_get_route_of_every_role(client, app, world):
    problems = await crawl(client, app, world)
    unexpected = {route: found for route, found in problems.items() if route not in KNOWN}
    assert unexpected == {}, "\n".join(line for found in unexpected.values() for line in found)


async def test_the_seller_application_page_is_html(client, app, world):
    for role in ("visitor", "shopper"):
        client.cookies.clear()
        if role == "shopper":
            await login(client, world.shopper.email)
        for variant, headers in VARIANTS:
            r = await client.get("/seller/apply", headers=headers)
            assert check("/seller/apply", r) is None, (role, variant, r.headers.get("content-type"))
