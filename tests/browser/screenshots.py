"""``make screenshots``: PNGs of the shop's main pages, on a phone (360 × 800) and a desktop
(1280 × 800), in Korean and in English, into ``docs/screenshots/`` (``product-ko-phone.png``...).

The shop runs on a temporary SQLite database seeded with the demo data (``app.seed``: the demo
accounts, a drop on sale, a live auction, an unpaid purchase right), plus two bids on the auction,
served by uvicorn in a thread as the browser tests do, and Debian's Chromium visits it through
Playwright, signed in as each demo role:

    python -m tests.browser.screenshots [--only product,auction] [--out DIR]

A page is captured down to two screens when its PNG stays under ``MAX_BYTES``, else its first screen only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sqlalchemy import select

from app.accounts.passwords import PasswordHasher
from app.accounts.service import AccountService
from app.auctions.bidding import BidService
from app.auctions.rules import BidRequest
from app.db import Database
from app.models.auctions import Auction
from app.models.catalog import Product, ProductStatus
from app.models.members import Member
from app.models.orders import Order
from app.search.index import get_index
from app.search.rebuild import rebuild
from app.seed import DEMO_PASSWORD, seed
from app.settings import PROJECT_ROOT, Settings
from tasks.web import create_app
from tests.helpers.backends import _free_port
from tests.helpers.keys import key
from tests.helpers.servers import CHROMIUM, CHROMIUM_ARGS, serve

OUT = PROJECT_ROOT / "docs" / "screenshots"
MAX_BYTES = 300_000
MAX_SCREENS = 2
SIZES = {"desktop": (1280, 800), "phone": (360, 800)}
LANGUAGES = ("ko", "en")
LOCALES = {"ko": "ko-KR", "en": "en-GB"}
ROLES = {"shopper": "shopper@smore.test", "seller": "seller@smore.test", "admin": "admin@smore.test"}
BIDDERS = [("bidder.one@smore.test", "Minji K."), ("bidder.two@smore.test", "Joon P.")]


@dataclass(frozen=True)
class Shop:
    base: str
    drop_id: int  # a product on sale
    auction_id: int
    order_id: int  # the demo shopper's unpaid order


@dataclass(frozen=True)
class Shot:
    name: str
    role: str | None  # None: a visitor
    visit: Callable[[Page, Shop], Awaitable[None]]


async def _goto(page: Page, path: str) -> None:
    await page.goto(path, wait_until="load")


async def _checkout(page: Page, shop: Shop) -> None:
    """The order's Pay button leads to the sandbox gateway's hosted checkout (shown as a full load
    shows it)."""
    await _goto(page, f"/orders/{shop.order_id}")
    await page.click("#pay-button")
    await page.wait_for_url("**/sandbox-gateway/checkout?**")
    await page.reload(wait_until="load")


SHOTS = [
    Shot("home", None, lambda page, shop: _goto(page, "/")),
    Shot("product", "shopper", lambda page, shop: _goto(page, f"/products/{shop.drop_id}")),
    Shot("auction", "shopper", lambda page, shop: _goto(page, f"/auctions/{shop.auction_id}")),
    Shot("order", "shopper", lambda page, shop: _goto(page, f"/orders/{shop.order_id}")),
    Shot("checkout", "shopper", _checkout),
    Shot("seller", "seller", lambda page, shop: _goto(page, "/seller")),
    Shot("seller-products", "seller", lambda page, shop: _goto(page, "/seller/products")),
    Shot("admin", "admin", lambda page, shop: _goto(page, "/admin")),
]


def _migrate(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def _prepare(settings: Settings) -> tuple[int, int, int]:
    """The demo data, the search index, and two bids on the live auction; (drop, auction, shopper) ids."""
    await seed(settings)
    app = create_app(settings)
    database: Database = app.state.database
    await rebuild(database, get_index(settings.search_path))
    async with database.transaction() as db:
        accounts = AccountService(db, PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_cost))
        bidders = [await accounts.sign_up(email, name, DEMO_PASSWORD, DEMO_PASSWORD) for email, name in BIDDERS]
        shopper = (await db.execute(select(Member).where(Member.email == ROLES["shopper"]))).scalar_one()
        on_sale = select(Product.id).where(Product.status == ProductStatus.ON_SALE).order_by(Product.id)
        drop_id = (await db.execute(on_sale.limit(1))).scalar_one()
        auction = (await db.execute(select(Auction).order_by(Auction.id).limit(1))).scalar_one()
        auction_id, start, step = auction.id, auction.start_price, auction.increment
    bidding = BidService(database, settings.auction_extend_seconds)
    for n, member in enumerate([bidders[0], shopper, bidders[1]]):
        await bidding.place(BidRequest(auction_id, member.id, start + n * step, None, key()))
    await database.dispose()
    return drop_id, auction_id, shopper.id


async def _order_of(settings: Settings, member_id: int) -> int:
    """The order the in-process worker makes for the shopper's purchase right."""
    database = Database(settings)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            async with database.transaction() as db:
                found = (await db.execute(select(Order.id).where(Order.member_id == member_id))).scalars().first()
            if found is not None:
                return found
            await asyncio.sleep(0.2)
    finally:
        await database.dispose()
    raise RuntimeError("no order was made for the demo shopper's purchase right")


def _served(settings: Settings) -> AbstractContextManager[str]:
    return serve(create_app(settings), settings.port)


async def _sign_in(browser: Browser, base: str, email: str) -> dict:
    """The browser state of a signed-in demo member (its session cookie)."""
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#f-email", email)
    await page.fill("#f-password", DEMO_PASSWORD)
    await page.click("main button[type=submit]")
    await page.locator('[data-nav="me"]').first.wait_for(state="attached")
    state = await context.storage_state()
    await context.close()
    return dict(state)


async def _context(browser: Browser, base: str, size: str, language: str, state: dict | None) -> BrowserContext:
    width, height = SIZES[size]
    context = await browser.new_context(
        base_url=base,
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        locale=LOCALES[language],
        timezone_id="Asia/Seoul",
        storage_state=state,
    )
    await context.add_cookies([{"name": "lang", "value": language, "url": base}])
    return context


def _small_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, "PNG", optimize=True)
        return out.getvalue()


async def _capture(page: Page) -> bytes:
    """The page down to ``MAX_SCREENS`` screens (its first screen alone when that is too large a
    PNG), once its fonts and pictures are in."""
    await page.evaluate(
        """async () => {
            document.querySelectorAll('img[loading="lazy"]').forEach(img => { img.loading = "eager"; });
            await Promise.all([...document.images].filter(img => !img.complete)
                .map(img => new Promise(done => { img.onload = img.onerror = done; })));
            await document.fonts.ready;
        }"""
    )
    await page.wait_for_timeout(300)  # the live regions' first update
    viewport = page.viewport_size or {"width": 1280, "height": 800}
    height = min(await page.evaluate("document.documentElement.scrollHeight"), MAX_SCREENS * viewport["height"])
    clip = {"x": 0, "y": 0, "width": viewport["width"], "height": height}
    whole = _small_png(await page.screenshot(full_page=True, clip=clip, animations="disabled"))
    if len(whole) <= MAX_BYTES:
        return whole
    return _small_png(await page.screenshot(animations="disabled"))


async def _run(shop: Shop, out: Path, only: set[str] | None) -> list[Path]:
    written: list[Path] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            states = {role: await _sign_in(browser, shop.base, email) for role, email in ROLES.items()}
            for language in LANGUAGES:
                for size in SIZES:
                    for shot in SHOTS:
                        if only and shot.name not in only:
                            continue
                        state = states[shot.role] if shot.role else None
                        context = await _context(browser, shop.base, size, language, state)
                        page = await context.new_page()
                        await shot.visit(page, shop)
                        target = out / f"{shot.name}-{language}-{size}.png"
                        target.write_bytes(await _capture(page))
                        written.append(target)
                        print(f"{target}: {target.stat().st_size // 1024} KB", flush=True)
                        await context.close()
        finally:
            await browser.close()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", help="names of the pages to capture, comma-separated: " + ", ".join(s.name for s in SHOTS)
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", force=True)
    only = set(args.only.split(",")) if args.only else None
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="smore-screenshots-"))
    try:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{workdir / 'shop.sqlite3'}",
            secret_key="screenshots-" + "x" * 40,
            var_dir=workdir,
            port=_free_port(),
            argon2_time_cost=1,
            argon2_memory_cost=1024,
            in_process_worker=True,
        )
        _migrate(settings.database_url)
        drop_id, auction_id, shopper_id = asyncio.run(_prepare(settings))
        with _served(settings) as base:
            order_id = asyncio.run(_order_of(settings, shopper_id))
            asyncio.run(_run(Shop(base, drop_id, auction_id, order_id), args.out, only))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
