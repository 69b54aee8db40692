"""Bench only: the framework ceiling for ``bench/auction.py``.

    uvicorn bench.auction_ceiling:create_app --factory --workers 2

A bare Litestar app with the routes the auction benchmark's bidders drive: the auction page (a
small page setting the CSRF cookie the bidders' warm-up takes) and the bid POST, which parses the
form and renders a small fragment like the shop's bid answer, with no session, CSRF check,
database or Redis. Whatever the shop does beyond this is its own cost.
"""

from __future__ import annotations

import secrets

from jinja2 import DictLoader, Environment
from litestar import Litestar, Request, get, post
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

FRAGMENTS = {
    "bid.html": (
        '<div id="bid-box" class="bid-box" sse-swap="closed" hx-swap="outerHTML">\n'
        '  <div id="my-position" sse-swap="position" hx-swap="innerHTML" aria-live="polite" tabindex="-1" data-focus>\n'
        '    <p class="position position-winning" data-position="winning">\n'
        '      You hold a unit at ₩{{ "{:,}".format(amount) }}.</p>\n'
        '    <p class="flash flash-success" role="status" id="bid-message">Your bid is in.</p>\n'
        "  </div>\n"
        '  <form method="post" action="/auctions/{{ auction_id }}/bids" hx-post="/auctions/{{ auction_id }}/bids"\n'
        '        hx-target="#bid-box" hx-swap="outerHTML" hx-disabled-elt="find button" novalidate>\n'
        '    <input type="hidden" name="key" value="{{ key }}">\n'
        '    <label for="amount">Your bid (₩)</label>\n'
        '    <input id="amount" name="amount" inputmode="numeric" autocomplete="off" value=""\n'
        '           placeholder="{{ "{:,}".format(amount + 100) }}" aria-describedby="e-amount">\n'
        '    <p class="error" id="e-amount"></p>\n'
        '    <button type="submit" class="bid-button">Place bid</button>\n'
        "  </form>\n"
        "</div>\n"
    ),
    "page.html": '<main><h1>Auction {{ auction_id }}</h1><div id="bid-box"></div></main>\n',
}


@post("/auctions/{auction_id:int}/bids")
async def bid(request: Request, auction_id: int) -> Template:
    form = await request.form()
    amount = int(form.get("amount") or 0)
    context = {"auction_id": auction_id, "amount": amount, "key": secrets.token_hex(16)}
    return Template(template_name="bid.html", context=context)


@get("/auctions/{auction_id:int}")
async def page(auction_id: int) -> Template:
    # the bidders' warm-up reads a CSRF cookie from this answer, as from the shop's page
    cookie = Cookie(key="csrftoken", value=secrets.token_urlsafe(32), path="/", httponly=True, samesite="lax")
    return Template(template_name="page.html", context={"auction_id": auction_id}, cookies=[cookie])


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    engine = JinjaTemplateEngine.from_environment(Environment(loader=DictLoader(FRAGMENTS), autoescape=True))
    return Litestar(route_handlers=[bid, page, healthz], template_config=TemplateConfig(instance=engine))
