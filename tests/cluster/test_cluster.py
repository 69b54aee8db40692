"""The shop on three web hosts and two workers behind HAProxy and PgBouncer (``tests/cluster/conftest.py``),
driven through the balancer only: no request is ever sent to a host itself.

Each host has a folder of its own and no SECRET_KEY, so what one host does another must see through
PostgreSQL and Redis alone: a form rendered by one host posts to another, a session made on one is
known to all, a picture uploaded through one is served by every one, a product is found by search
on every host as soon as it is committed, a purchase on one host is paid through another, two
bidders whose live streams come from different hosts see each other's bids, and a drop keeps every
right when a host dies under its crowd. The tests run in this order (the last one kills a host)."""

from __future__ import annotations

import asyncio
import io
import itertools
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Response, async_playwright, expect
from sqlalchemy import insert, select

from app.accounts.passwords import PasswordHasher
from app.catalog.product_rules import to_local_input
from app.catalog.transitions import transition
from app.drops.rules import LIVE_RIGHTS
from app.drops.stock import ledger_sum
from app.models.auctions import Auction
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus, StoredPicture
from app.models.drops import PurchaseRight
from app.models.members import Member
from app.models.orders import Order, OrderStatus
from app.models.payments import Payment
from tests.helpers.browser import language_page
from tests.helpers.cluster import WEB_HOSTS, Cluster
from tests.helpers.drops import open_sale
from tests.helpers.factories import PASSWORD
from tests.helpers.servers import CHROMIUM, CHROMIUM_ARGS
from tests.helpers.sql import count_by
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.cluster
HOSTS = set(WEB_HOSTS)


class Visitor:
    """One visitor's cookies, talking to the balancer; every answer's host is noted."""

    def __init__(self, cluster: Cluster) -> None:
        self.client = httpx.AsyncClient(base_url=cluster.balancer, timeout=30, follow_redirects=False)
        self.hosts: list[str] = []

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        response = await self.client.request(method, url, **kwargs)
        self.hosts.append(response.headers.get("x-served-by", "?"))
        return response

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, data: dict[str, str] | None = None, **kwargs) -> httpx.Response:
        """A form post with the CSRF token of the cookie (set by whichever host served the form)."""
        form = dict(data or {}) | {"_csrf_token": self.client.cookies.get("csrftoken") or ""}
        return await self.request("POST", url, data=form, **kwargs)

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        assert (await self.get("/login")).status_code == 200
        response = await self.post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:500]

    async def close(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def visitor(cluster: Cluster) -> AsyncIterator[Visitor]:
    v = Visitor(cluster)
    yield v
    await v.close()


def picture(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.timeout(180)  # the first test starts the cluster
async def test_sign_up_and_log_in_with_each_request_on_another_host(cluster: Cluster, shop, visitor: Visitor):
    form = await visitor.get("/signup")
    assert form.status_code == 200 and 'name="_csrf_token"' in form.text
    signup = {"email": "hana@cluster.test", "display_name": "Hana", "password": PASSWORD, "password_confirm": PASSWORD}
    created = await visitor.post("/signup", signup)
    assert created.status_code == 303, created.text[:500]  # the CSRF form of one host, posted to another
    me = await visitor.get("/me")
    assert me.status_code == 200 and "hana@cluster.test" in me.text  # the session, known to a third host
    assert (await visitor.post("/logout")).status_code == 303
    assert (await visitor.get("/me")).status_code in (302, 303)  # signed out on every host at once
    await visitor.sign_in("hana@cluster.test")
    me = await visitor.get("/me")
    assert me.status_code == 200 and "Hana" in me.text

    hosts = visitor.hosts
    assert all(a != b for a, b in itertools.pairwise(hosts)), f"two requests in a row on one host: {hosts}"
    assert set(hosts) == HOSTS, hosts
    async with shop.state.database.transaction() as db:
        member = (await db.execute(select(Member).where(Member.email == "hana@cluster.test"))).scalar_one()
        assert member.display_name == "Hana"


@pytest.mark.timeout(120)
async def test_a_picture_uploaded_through_one_host_is_served_by_all_and_search_finds_the_product_at_once(
    cluster: Cluster, shop, members, products, visitor: Visitor
):
    seller = await members.seller("potter@cluster.test")
    category = await products.category("ceramics", "Ceramics")
    await visitor.sign_in(seller.email)
    assert (await visitor.get("/seller/products/new")).status_code == 200
    upload = picture((200, 120, 40))
    fields = {
        "name": "Nebula moon jar",
        "description": "Hand thrown, one of a kind.",
        "category_id": str(category.id),
        "list_price": "120,000",
        "total_quantity": "3",
        "fixed_quantity": "3",
        "purchase_limit": "1",
        "sale_starts_at": to_local_input(utcnow() + timedelta(days=1)),
    }
    files = [("images", ("jar.png", upload, "image/png"))]
    saved = await visitor.post("/seller/products", fields, files=files)
    assert saved.status_code == 303, saved.text[:500]
    async with shop.state.database.transaction() as db:
        product = (await db.execute(select(Product).where(Product.name == "Nebula moon jar"))).scalar_one()
        [image] = product.images
        stored = {row.name: row for row in (await db.execute(select(StoredPicture))).scalars()}

    for url in (image.url, image.thumb_url):
        name = url.rsplit("/", 1)[1]
        served: dict[str, httpx.Response] = {}
        for _ in range(len(HOSTS)):
            response = await visitor.get(url)
            served[response.headers["x-served-by"]] = response
        assert set(served) == HOSTS, f"{url} was served by {sorted(served)} only"
        for host, response in served.items():
            assert response.status_code == 200, (host, url, response.status_code)
            assert response.content == stored[name].data, (host, url)
            assert response.headers["etag"].strip('"') == name.rsplit(".", 1)[0], (host, response.headers["etag"])
        again = await visitor.get(url, headers={"if-none-match": served["web1"].headers["etag"]})
        assert again.status_code == 304

    # Each host's search page once before (a draft is found nowhere), so what follows measures how
    # current the search is, not a process's first page.
    searcher = Visitor(cluster)
    try:
        for _ in range(len(HOSTS)):
            before = await searcher.get("/search", params={"q": "nebula"})
            assert before.status_code == 200 and f'href="/products/{product.id}"' not in before.text
        assert set(searcher.hosts) == HOSTS, searcher.hosts

        # Published through the balancer: from its commit, every host's search finds it within a second
        # (three searches at a time: round robin sends them to the three hosts).
        published = await visitor.post(f"/seller/products/{product.id}/publish")
        assert published.status_code == 303, published.text[:500]
        committed = time.monotonic()
        found: dict[str, float] = {}
        while set(found) != HOSTS and time.monotonic() - committed < 1.0:
            answers = await asyncio.gather(*(searcher.get("/search", params={"q": "nebula"}) for _ in HOSTS))
            for response in answers:
                assert response.status_code == 200
                if f'href="/products/{product.id}"' in response.text:
                    found.setdefault(response.headers["x-served-by"], round(time.monotonic() - committed, 3))
    finally:
        await searcher.close()
    assert set(found) == HOSTS, f"found within 1 s of the commit on {found} only"


async def bought_through_one_host_paid_through_another(visitor: Visitor, product_id: int) -> tuple[int, list[str]]:
    """Buy, then pay in the sandbox's hosted checkout, each step on whichever host the balancer picks;
    the order's id and the hosts of the steps (buy, order, pay, checkout page, card, confirm)."""
    htmx = {"HX-Request": "true", "HX-Target": "buy-box"}
    pressed = await visitor.post(f"/products/{product_id}/buy", {"key": uuid.uuid4().hex}, headers=htmx)
    assert pressed.status_code == 200, pressed.text[:500]
    right = re.search(r'data-right="(\d+)"', pressed.text)
    assert right and "Yours!" in pressed.text, pressed.text[:500]
    to_order = await visitor.get(f"/me/purchases/{right.group(1)}/pay")
    assert to_order.status_code == 303, to_order.text[:500]
    order_url = to_order.headers["location"]
    order_id = int(order_url.rsplit("/", 1)[1])
    assert (await visitor.get(order_url)).status_code == 200
    to_gateway = await visitor.post(f"/orders/{order_id}/pay")
    assert to_gateway.status_code == 303, to_gateway.text[:500]
    checkout = urlsplit(to_gateway.headers["location"])
    assert f"{checkout.scheme}://{checkout.netloc}" == str(visitor.client.base_url).rstrip("/"), checkout
    window = await visitor.get(f"{checkout.path}?{checkout.query}")
    assert window.status_code == 200, window.text[:500]
    card = await visitor.request(
        "POST", checkout.path, data=dict(parse_qsl(checkout.query)) | {"card": "approve", "action": "pay"}
    )
    assert card.status_code == 303, card.text[:500]
    back = urlsplit(card.headers["location"])
    confirmed = await visitor.get(f"{back.path}?{back.query}")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"/orders/{order_id}"
    return order_id, visitor.hosts[-7:]


@pytest.mark.timeout(120)
async def test_a_purchase_made_through_one_host_is_paid_through_another(
    cluster: Cluster, shop, members, products, visitor: Visitor
):
    seller = await members.seller()
    product = await products.create(
        seller,
        name="Cluster figure",
        status=ProductStatus.ON_SALE,
        list_price=12_000,
        fixed_quantity=3,
        total_quantity=3,
        purchase_limit=1,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )
    await open_sale(shop, product.id)
    shopper = await members.create("ana@cluster.test")
    await visitor.sign_in(shopper.email)

    order_id, hosts = await bought_through_one_host_paid_through_another(visitor, product.id)
    assert len(set(hosts)) > 1, hosts
    async with shop.state.database.transaction() as db:
        order = await db.get(Order, order_id)
        payment = (await db.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()
    assert order is not None
    assert order.status is OrderStatus.PAID, (order.status, payment.failure_code, payment.failure_message, hosts)
    page = await visitor.get(f"/orders/{order_id}")
    assert page.status_code == 200 and "Paid" in page.text


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def live_auction(shop, members, products) -> Auction:
    """A sold-out drop converted to a live auction for its last two units (the workers open it)."""
    product = await products.create(
        await members.seller(),
        status=ProductStatus.CONVERSION_PENDING,
        fixed_quantity=2,
        taken_quantity=2,
        total_quantity=4,
        auction_start_price=10_000,
        auction_increment=1_000,
        auction_duration_minutes=60,
    )
    async with shop.state.database.transaction() as db:
        await transition(db, await db.get(Product, product.id), ProductStatus.AUCTION_LIVE, reason="sold out")

    async def opened() -> Auction | None:
        async with shop.state.database.transaction() as db:
            return (await db.execute(select(Auction).where(Auction.product_id == product.id))).scalar_one_or_none()

    return await wait_for(opened, 20, "the workers to open the auction")


class StreamHost:
    """The host that serves a page's live stream (its X-Served-By), as the browser received it."""

    def __init__(self, page: Page, path: str) -> None:
        self.hosts: list[str] = []

        def on_response(response: Response) -> None:
            if urlsplit(response.url).path == path:
                self.hosts.append(response.headers.get("x-served-by", "?"))

        page.on("response", on_response)

    async def current(self) -> str:
        async def known() -> str | None:
            return self.hosts[-1] if self.hosts else None

        return await wait_for(known, 10, "the live stream's answer")


async def watch(page: Page, auction_id: int) -> None:
    await page.goto(f"/auctions/{auction_id}")
    await expect(page.locator("#auction-stream")).to_have_attribute("data-live", "connected")


async def bid_and_be_seen(page: Page, amount: int, other: Page, bids: int) -> None:
    await page.fill("#amount", str(amount))
    await page.click("#bid-box button.bid-button")
    await expect(page.locator("#my-position")).to_contain_text(f"₩{amount:,}")
    live = other.locator("#auction-state .auction-live")
    await expect(live).to_have_attribute("data-bids", str(bids), timeout=5000)
    await expect(live.locator("#top-bids tbody tr").first).to_contain_text(f"₩{amount:,}")


@pytest.mark.timeout(120)
async def test_two_bidders_on_streams_from_different_hosts_see_each_others_bids_live(
    cluster: Cluster, shop, members, products, browser: Browser
):
    auction = await live_auction(shop, members, products)
    await members.create("bo@cluster.test", display_name="Bo")
    await members.create("cy@cluster.test", display_name="Cy")
    ctx_b, page_b = await language_page(browser, cluster.balancer, "en", "bo@cluster.test")
    ctx_c, page_c = await language_page(browser, cluster.balancer, "en", "cy@cluster.test")
    try:
        events = f"/auctions/{auction.id}/events"
        stream_b, stream_c = StreamHost(page_b, events), StreamHost(page_c, events)
        await watch(page_b, auction.id)
        await watch(page_c, auction.id)
        async with httpx.AsyncClient(base_url=cluster.balancer) as nudge:
            for _ in range(6):
                if await stream_b.current() != await stream_c.current():
                    break
                # a page load may send a multiple of three requests: one more moves round robin on
                await nudge.get("/healthz")
                await watch(page_c, auction.id)
        hosts = (await stream_b.current(), await stream_c.current())
        assert hosts[0] != hosts[1] and set(hosts) <= HOSTS, hosts

        await bid_and_be_seen(page_b, 10_000, page_c, bids=1)
        await bid_and_be_seen(page_c, 11_000, page_b, bids=2)
        await bid_and_be_seen(page_b, 12_000, page_c, bids=3)
        assert (await stream_b.current(), await stream_c.current()) == hosts, "a stream moved during the test"
    finally:
        await ctx_b.close()
        await ctx_c.close()


# ---- a drop's crowd, with one host killed under it -------------------------------------------------

UNITS, SHOPPERS = 20, 60
CROWD_PASSWORD = "crowd-password-1"


@dataclass
class Crowd:
    answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # key → answers
    owner: dict[str, str] = field(default_factory=dict)  # key → email
    statuses: Counter[int] = field(default_factory=Counter)
    hosts: Counter[str] = field(default_factory=Counter)
    cut: int = 0


def answer_of(response: httpx.Response) -> str | None:
    """``right:<id>`` for a granted key, the refusal otherwise; None: no answer from the shop."""
    if response.status_code != 200:
        return None
    if match := re.search(r'data-right="(\d+)"', response.text):
        return f"right:{match.group(1)}"
    for text, name in (("Sold out", "sold_out"), ("your limit", "limit")):
        if text in response.text:
            return name
    return f"other:{response.text[:80]}"


class Presser:
    def __init__(self, cluster: Cluster, email: str, crowd: Crowd) -> None:
        self.email, self.crowd = email, crowd
        self.client = httpx.AsyncClient(base_url=cluster.balancer, timeout=30, follow_redirects=False)

    @property
    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken") or ""

    async def sign_in(self) -> None:
        for _ in range(20):
            try:
                await self.client.get("/login")
                r = await self.client.post(
                    "/login", data={"email": self.email, "password": CROWD_PASSWORD, "_csrf_token": self.csrf}
                )
            except httpx.TransportError:
                self.crowd.cut += 1
                continue
            if r.status_code == 303:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.email} could not sign in")

    async def press(self, product_id: int, key: str) -> str:
        """Press Buy with ``key`` until the shop answers; a press whose connection was cut, or that
        the balancer could not hand to a living host, is sent again with the same key."""
        self.crowd.owner[key] = self.email
        for _ in range(40):
            try:
                r = await self.client.post(
                    f"/products/{product_id}/buy",
                    data={"key": key, "_csrf_token": self.csrf},
                    headers={"HX-Request": "true", "HX-Target": "buy-box", "x-csrftoken": self.csrf},
                )
            except httpx.TransportError:
                self.crowd.cut += 1
                await asyncio.sleep(0.1)
                continue
            self.crowd.statuses[r.status_code] += 1
            if r.status_code in (502, 503, 504) and "x-served-by" not in r.headers:
                self.crowd.cut += 1  # the balancer's own answer: the host died under the press
                await asyncio.sleep(0.1)
                continue
            self.crowd.hosts[r.headers.get("x-served-by", "?")] += 1
            answer = answer_of(r)
            assert answer is not None, f"a press answered {r.status_code}: {r.text[:300]}"
            self.crowd.answers[key].append(answer)
            return answer
        raise AssertionError(f"a press of {self.email} was never answered")

    async def close(self) -> None:
        await self.client.aclose()


@pytest.mark.timeout(240)
async def test_a_drop_crowd_through_the_balancer_loses_no_right_when_a_host_is_killed(
    cluster: Cluster, shop, members, products
):
    seller = await members.seller("drop-seller@cluster.test")
    product = await products.create(
        seller,
        name="Cluster drop",
        status=ProductStatus.ON_SALE,
        list_price=30_000,
        total_quantity=UNITS,
        fixed_quantity=UNITS,
        purchase_limit=1,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )
    await open_sale(shop, product.id)
    password_hash = await PasswordHasher(time_cost=1, memory_cost=1024).hash(CROWD_PASSWORD)
    emails = [f"crowd{i}@cluster.test" for i in range(SHOPPERS)]
    async with shop.state.database.transaction() as db:
        rows = [
            {"email": e, "display_name": f"Crowd {i}", "password_hash": password_hash} for i, e in enumerate(emails)
        ]
        await db.execute(insert(Member), rows)

    crowd = Crowd()
    pressers = [Presser(cluster, email, crowd) for email in emails]
    logins = asyncio.Semaphore(8)

    async def signed_in(p: Presser) -> None:
        async with logins:
            await p.sign_in()

    await asyncio.gather(*(signed_in(p) for p in pressers))
    rng = random.Random(11)
    go = asyncio.Event()

    async def shop_for(p: Presser) -> None:
        await go.wait()
        await asyncio.sleep(rng.random() * 1.0)
        last = None
        for _ in range(3):
            key = last if last is not None and rng.random() < 1 / 3 else uuid.uuid4().hex
            await p.press(product.id, key)
            last = key

    async def kill_a_host() -> tuple[float, int]:
        """SIGKILL to web2 once half the units are taken (the crowd still pressing on every host)."""
        await go.wait()
        started = time.monotonic()

        async def half_taken() -> bool:
            return sum(a[0].startswith("right:") for a in crowd.answers.values()) >= UNITS // 2

        await wait_for(half_taken, 30, "half the units to be taken")
        cluster.kill_web("web2")
        return time.monotonic() - started, crowd.hosts["web2"]

    try:
        tasks = [asyncio.create_task(shop_for(p)) for p in pressers]
        killer = asyncio.create_task(kill_a_host())
        go.set()
        await asyncio.gather(*tasks)
        killed_at, served_before = await killer
        # every key pressed, once more, after the host died
        by_email = {p.email: p for p in pressers}
        await asyncio.gather(*(by_email[email].press(product.id, k) for k, email in list(crowd.owner.items())))
    finally:
        for p in pressers:
            await p.close()

    async with shop.state.database.transaction() as db:
        fresh = await db.get(Product, product.id)
        assert fresh is not None
        ledger = await ledger_sum(db, product.id)
        held = await count_by(
            db, PurchaseRight.member_id, PurchaseRight.product_id == product.id, PurchaseRight.status.in_(LIVE_RIGHTS)
        )
        rights = {
            r.idempotency_key: r
            for r in (await db.execute(select(PurchaseRight).where(PurchaseRight.product_id == product.id))).scalars()
        }
    granted = {k for k, answers in crowd.answers.items() if answers[0].startswith("right:")}
    assert fresh.taken_quantity <= UNITS
    assert ledger == fresh.fixed_left, "the stock ledger adds up to the stock"
    assert max(held.values(), default=0) <= 1, "nobody holds more than the limit"
    assert len(granted) == fresh.taken_quantity == sum(held.values()) == len(rights), "every unit taken is a Yours!"
    for k in granted:
        assert crowd.answers[k][0] == f"right:{rights[k].id}", "a Yours! is backed by its own right"
    changed = {k: a for k, a in crowd.answers.items() if len(set(a)) != 1}
    assert changed == {}, "a replayed key changed its answer"
    app_errors = {s: n for s, n in crowd.statuses.items() if s >= 500}
    assert sum(app_errors.values()) <= crowd.cut, f"HTTP 5xx answers from the shop: {app_errors}"
    assert fresh.taken_quantity == UNITS, "the crowd took every unit"
    assert crowd.cut > 0, "the kill cut presses in flight"
    assert crowd.hosts["web2"] > 0 and crowd.hosts["web1"] > 0 and crowd.hosts["web3"] > 0, crowd.hosts
    print(
        f"crowd: {sum(len(a) for a in crowd.answers.values())} answers to {len(crowd.answers)} keys, "
        f"{crowd.cut} cut or refused by the balancer, statuses {dict(crowd.statuses)}, hosts {dict(crowd.hosts)}, "
        f"web2 killed at {killed_at:.2f} s after answering {served_before} presses"
    )
