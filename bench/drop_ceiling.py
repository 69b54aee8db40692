"""Bench only: the framework ceiling for ``bench/drop.py``.

    uvicorn bench.drop_ceiling:create_app --factory --workers 2

A bare Litestar app with the same routes the drop benchmark drives: the Buy POST parses the form
and renders a small Jinja fragment, like the shop's "Sold out" answer, with no session, CSRF,
database or Redis. Whatever the shop does beyond this is its own cost.
"""

from __future__ import annotations

from jinja2 import DictLoader, Environment
from litestar import Litestar, Request, get, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

FRAGMENTS = {
    "result.html": (
        '<div id="buy-box" class="buy-box buy-result buy-{{ outcome }}" role="status">\n'
        '  <p class="buy-refused">{{ message }}</p>\n'
        '  <form method="post" action="/products/{{ product_id }}/buy" hx-post="/products/{{ product_id }}/buy"\n'
        '        hx-target="#buy-box" hx-swap="outerHTML"><input type="hidden" name="key" value="{{ key }}">\n'
        '    <button type="submit" class="secondary small">Try again</button></form>\n'
        "</div>\n"
    ),
    "box.html": '<form id="buy-box" method="post" action="/products/{{ product_id }}/buy"></form>\n',
}


@post("/products/{product_id:int}/buy")
async def buy(request: Request, product_id: int) -> Template:
    form = await request.form()
    context = {
        "outcome": "sold_out",
        "message": "Sold out. Units that are not paid in time come back, so keep this page open.",
        "product_id": product_id,
        "key": form.get("key", ""),
    }
    return Template(template_name="result.html", context=context)


@get("/products/{product_id:int}/buy-box")
async def buy_box(product_id: int) -> Template:
    return Template(template_name="box.html", context={"product_id": product_id})


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The fragments above, rendered by Jinja as Litestar's template engine."""
    engine = JinjaTemplateEngine.from_environment(Environment(loader=DictLoader(FRAGMENTS), autoescape=True))
    return TemplateConfig(instance=engine)


def create_app() -> Litestar:
    return Litestar(route_handlers=[buy, buy_box, healthz], template_config=template_config())
