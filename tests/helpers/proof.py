"""The proof a form that hands out something scarce asks for (``app/web/proof.py``), given as the
browser gives it: a challenge fetched from the app and solved with the ``altcha`` library's own
solver (what the widget's workers do), and joining a waiting room's line with one in a call."""

from __future__ import annotations

import base64
import json
from typing import Any

import altcha

from tests.helpers.web import post_form


async def fetched_challenge(browser: Any) -> altcha.Challenge:
    response = await browser.get("/proof/challenge")
    assert response.status_code == 200, response.text
    return altcha.Challenge.from_dict(response.json())


def solve(challenge: altcha.Challenge | dict[str, Any]) -> str:
    """The widget's field for ``challenge`` solved: base64 of the challenge and its solution."""
    if isinstance(challenge, dict):
        challenge = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None, "the challenge was not solved in time"
    return altcha.Payload(challenge, solution).to_base64()


async def solved(browser: Any) -> str:
    """A fresh challenge from the app, solved."""
    return solve(await fetched_challenge(browser))


def encoded(value: Any) -> str:
    """``value`` as JSON in base64, the way the widget sends its payload (for malformed ones)."""
    return base64.b64encode(json.dumps(value).encode()).decode()


async def join_line(browser: Any, product_id: int, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """Press "Join the line" of ``product_id`` with a solved proof, as a browser with JavaScript does."""
    form = {"altcha": await solved(browser), **(data or {})}
    return await post_form(browser, f"/products/{product_id}/line", form, **kwargs)


async def enter_draw(browser: Any, product_id: int, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """Press "Enter the draw" of ``product_id`` with a solved proof, as a browser with JavaScript does."""
    form = {"altcha": await solved(browser), **(data or {})}
    return await post_form(browser, f"/products/{product_id}/draw", form, **kwargs)
