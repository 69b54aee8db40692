"""A draw from a shopper's phone to anyone's check of it: the shopper enters from the product page
(the proof of work solved by the page's widget), the window closes and the draw is made, and then,
from the draw's public page alone (its seed, commitment, units and the entry ids it publishes), the
documented command ``python -m app.drops.verify_draw`` recomputes the same winners, in the same
order, as the page lists; the shopper's page tells them their own result."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import pytest
from playwright.async_api import Browser, expect

from app.settings import PROJECT_ROOT
from tests.helpers.browser import PHONE, language_page
from tests.helpers.draws import draw_on_sale, enter, entries, make

pytestmark = pytest.mark.browser


@pytest.mark.timeout(120)
async def test_a_draw_is_entered_drawn_and_verified_from_its_public_page(
    live_server: str, browser: Browser, app, members, products, tmp_path
):
    product = await draw_on_sale(app, members, products, units=2)
    shopper = await members.create("yuna@example.test")
    for _ in range(5):
        await enter(app, await members.create(), product.id)
    context, page = await language_page(browser, live_server, "en", shopper.email, viewport=PHONE)
    await page.goto(f"/products/{product.id}")
    await page.click("#draw-enter")  # the widget solves the challenge, then the form goes
    await page.wait_for_url(f"**/products/{product.id}/draw", timeout=30_000)
    mine = next(e.id for e in await entries(app, product.id) if e.member_id == shopper.id)
    await expect(page.locator("#draw-entered")).to_contain_text(f"#{mine}")

    await make(app, product.id)
    await page.reload()
    seed = (await page.locator("#draw-seed").inner_text()).strip()
    commitment = (await page.locator("#draw-commitment").inner_text()).strip()
    units = int((await page.locator("#draw-units").inner_text()).strip())
    assert "equals the commitment" in await page.locator("#draw-seed-check").inner_text()
    shown = [int(i) for i in re.findall(r'id="winners-(\d+)"', await page.locator("#draw-winners").inner_html())]
    published = await page.request.get(f"{live_server}/products/{product.id}/draw/entries.txt")
    assert published.ok and published.headers["content-type"].startswith("text/plain")
    listed = tmp_path / "entries.txt"
    listed.write_text(await published.text())
    await context.close()

    command = [sys.executable, "-m", "app.drops.verify_draw", "--seed", seed, "--commitment", commitment]
    process = await asyncio.create_subprocess_exec(
        *command, "--units", str(units), str(listed), cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    verdict = json.loads(out)
    assert verdict["commitment_ok"] is True
    assert verdict["winners"] == shown and len(shown) == units == 2
    assert sorted(verdict["order"]) == sorted(e.id for e in await entries(app, product.id))
    won = {e.id: e.status.value for e in await entries(app, product.id)}
    assert {won[i] for i in shown} == {"won"} and mine in won
