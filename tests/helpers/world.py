"""A small shop with something on every page, written through the real services: a seller with a
drop on sale and a live auction, a shopper who paid for a unit (and asked a partial refund), holds
another unit unpaid and bid on the auction, a member whose seller application waits for review, an
administrator, and an open password-reset link. The crawl, phone-width and accessibility tests
visit every page of every role over it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar.routes import HTTPRoute
from sqlalchemy import insert, select

from app.accounts.resets import token_hash
from app.catalog.transitions import transition
from app.drops.rules import Outcome
from app.drops.service import Press
from app.models.auctions import Auction
from app.models.base import utcnow
from app.models.catalog import Product, ProductStatus
from app.models.members import Member, MemberRole, PasswordReset
from app.models.orders import Order
from app.models.payments import PaymentStatus
from app.orders.service import order_for_right
from app.payments.refund_requests import request_money
from app.payments.service import record_done, start_payment
from app.sellers.service import SellerService
from tests.helpers.auctions import bid, dispatch_all
from tests.helpers.drops import open_sale, service
from tests.helpers.keys import key

RESET_TOKEN = "a-reset-link-token-for-the-pages-tests-0123456789"


@dataclass(frozen=True)
class World:
    admin: Member
    seller: Member
    shopper: Member
    applicant: Member
    category_id: int
    category_slug: str
    product_id: int  # the seller's drop, on sale
    auction_product_id: int
    auction_id: int
    right_id: int  # the shopper's unpaid unit
    order_id: int  # the shopper's paid order
    payment_id: int
    payment_key: str
    refund_id: int
    application_id: int
    reset_token: str

    def emails(self) -> dict[str, str | None]:
        """Each role's sign-in address (None: a visitor)."""
        return {"visitor": None, "shopper": self.shopper.email, "seller": self.seller.email, "admin": self.admin.email}


async def seeded_world(app, members, products) -> World:
    database = app.state.database
    admin = await members.admin()
    seller = await members.create("seller@example.test", role=MemberRole.SELLER, display_name="Studio Seoul")
    shopper = await members.create("ana@example.test", display_name="Ana Kim")
    applicant = await members.create("ben@example.test", display_name="Ben Park")
    category = await products.category("figures", "Figures")

    drop = await products.create(
        seller,
        category_id=category.id,
        name="Limited figure",
        status=ProductStatus.ON_SALE,
        list_price=12_000,
        fixed_quantity=4,
        total_quantity=6,
        purchase_limit=2,
        sale_starts_at=utcnow() - timedelta(minutes=1),
    )
    await open_sale(app, drop.id)
    drops = service(app)
    rights = []
    for _ in range(2):
        result = await drops.press(Press(drop.id, shopper.id, key()))
        assert result.outcome is Outcome.GRANTED, result
        rights.append(result.right_id)
    paid_right, held_right = rights

    async with database.transaction() as db:
        order = await order_for_right(db, paid_right)
        assert order is not None
        payment = await start_payment(db, order)
        payment.status = PaymentStatus.IN_PROGRESS  # what the confirm's claim does
        payment.payment_key = f"pk-{payment.id}"
        order_id, payment_id, payment_key = order.id, payment.id, payment.payment_key
    async with database.transaction() as db:
        assert (await record_done(db, payment_id, method="card", approved_at=utcnow())).state == "paid"
    async with database.transaction() as db:
        refund = await request_money(
            db, await db.get(Order, order_id), amount=2_000, reason="the box arrived dented", actor_id=shopper.id
        )
        refund_id = refund.id

    auctioned = await products.create(
        seller,
        category_id=category.id,
        name="Signed print",
        status=ProductStatus.CONVERSION_PENDING,
        fixed_quantity=2,
        taken_quantity=2,
        total_quantity=4,
        auction_start_price=10_000,
        auction_increment=1_000,
        auction_duration_minutes=60,
    )
    async with database.transaction() as db:
        fresh = await db.get(Product, auctioned.id)
        await transition(db, fresh, ProductStatus.AUCTION_LIVE, reason="every fixed-price unit is paid")
    await dispatch_all(app)
    async with database.transaction() as db:
        auction = (await db.execute(select(Auction).where(Auction.product_id == auctioned.id))).scalar_one()
    assert (await bid(app, auction.id, shopper.id, 10_000)).accepted
    await dispatch_all(app)

    async with database.transaction() as db:
        application = await SellerService(db).apply(
            await db.get(Member, applicant.id), "Ben's Prints", "ben@example.test", "Hand-pulled prints."
        )
        application_id = application.id
        now = utcnow()
        columns = {"member_id": shopper.id, "token_hash": token_hash(RESET_TOKEN), "created_at": now}
        await db.execute(insert(PasswordReset).values(expires_at=now + timedelta(minutes=30), **columns))

    return World(
        admin=admin,
        seller=seller,
        shopper=shopper,
        applicant=applicant,
        category_id=category.id,
        category_slug=category.slug,
        product_id=drop.id,
        auction_product_id=auctioned.id,
        auction_id=auction.id,
        right_id=held_right,
        order_id=order_id,
        payment_id=payment_id,
        payment_key=payment_key,
        refund_id=refund_id,
        application_id=application_id,
        reset_token=RESET_TOKEN,
    )


# Routes whose answer is not an HTML page: the content type they are meant to have.
NOT_HTML: dict[str, str] = {
    "/healthz": "application/json",
    "/proof/challenge": "application/json",  # the proof-of-work widget's challenge
    "/favicon.ico": "image/",
    "/static/{file_path:path}": "text/css",  # filled with the shop's style sheet
    "/sandbox-gateway/v1/payments/orders/{order_id:str}": "application/json",  # the gateway's API
    "/sandbox-gateway/v1/payments/{payment_key:str}": "application/json",
}
# CSV downloads: a CSV file to whoever may have it, an HTML page (403, 404, 400) to anyone else.
DOWNLOADS: dict[str, str] = {
    "/seller/orders/export.csv": "text/csv; charset=utf-8",
    "/seller/settlements/export.csv": "text/csv; charset=utf-8",
    "/seller/products/{product_id:int}/stock/export.csv": "text/csv; charset=utf-8",
    "/seller/refunds/export.csv": "text/csv; charset=utf-8",
    "/admin/products/{product_id:int}/stock/export.csv": "text/csv; charset=utf-8",
    "/admin/payments/export.csv": "text/csv; charset=utf-8",
    "/admin/refunds/export.csv": "text/csv; charset=utf-8",
    "/admin/members/export.csv": "text/csv; charset=utf-8",
}
# Pages for a few readers only: their own content type to those readers, an HTML 404 to anyone
# else (the metrics scrape: a signed-in admin or a scraper with the token).
READERS_ONLY: dict[str, str] = {"/metrics": "text/plain; version=1.0.0"}
# Streams (text/event-stream) never end: they are listed, not read here (the live tests read them).
STREAMS = {
    "/auctions/{auction_id:int}/events",
    "/products/{product_id:int}/events",
    "/products/{product_id:int}/line/events",
    "/me/notifications/events",
    "/seller/events",
    "/seller/products/events",
    "/seller/products/{product_id:int}/stock/events",
    "/admin/products/{product_id:int}/stock/events",
}
# HTML fragments swapped into a page (no <title> of their own).
FRAGMENTS = {"/products/{product_id:int}/buy-box", "/products/{product_id:int}/line/box"}
# Files a visitor may ask for that need not exist: any answer but a 5xx.
ANY_TYPE = {"/uploads/{name:str}"}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def get_routes(app) -> list[str]:
    paths = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and any("GET" in h.http_methods for h in route.route_handlers):
            paths.append(route.path)
    return sorted(set(paths))


def fill(path: str, world: World) -> str:
    """``path`` with its parameters replaced by the seeded shop's ids."""
    per_route = {
        "/admin/members/{target_id:int}": {"target_id": world.shopper.id},
        "/admin/products/{target_id:int}": {"target_id": world.product_id},
        "/sandbox-gateway/v1/payments/orders/{order_id:str}": {"order_id": f"order-{world.order_id}"},
        "/products/{product_id:int}/auction": {"product_id": world.auction_product_id},
    }
    values: dict[str, Any] = {
        "category_id": world.category_id,
        "slug": world.category_slug,
        "product_id": world.product_id,
        "target_id": world.shopper.id,
        "payment_id": world.payment_id,
        "payment_key": world.payment_key,
        "refund_id": world.refund_id,
        "application_id": world.application_id,
        "auction_id": world.auction_id,
        "right_id": world.right_id,
        "order_id": world.order_id,
        "token": world.reset_token,
        "file_path": "css/smore.css",
        "name": "0" * 64 + ".png",  # a picture name that is not stored
    } | per_route.get(path, {})

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"no value for {{{name}}} in {path}: add it to fill()"
        return str(values[name])

    return _PARAM.sub(one, path)


def page_routes(app) -> list[str]:
    """The GET routes that answer an HTML page (not a stream, a fragment, a file, a download or an API)."""
    skip = set(NOT_HTML) | set(DOWNLOADS) | set(READERS_ONLY) | STREAMS | FRAGMENTS | ANY_TYPE
    return [route for route in get_routes(app) if route not in skip]


def main_pages(world: World) -> dict[str, list[str]]:
    """The main pages of each role (what the accessibility test checks)."""
    product, auction, order = (
        f"/products/{world.product_id}",
        f"/auctions/{world.auction_id}",
        f"/orders/{world.order_id}",
    )
    own = f"/seller/products/{world.product_id}"
    return {
        "visitor": [
            "/",
            "/categories",
            f"/categories/{world.category_slug}",
            "/search?q=figure",
            product,
            auction,
            "/login",
            "/signup",
            "/password/forgot",
        ],
        "shopper": [
            "/me",
            "/me/purchases",
            "/me/bids",
            "/me/notifications",
            "/orders",
            order,
            f"{order}/refund",
            "/seller/apply",
            product,
            auction,
        ],
        "seller": [
            "/seller",
            "/seller/products",
            "/seller/products/new",
            f"{own}/edit",
            f"{own}/stock",
            "/seller/auctions",
            f"/seller/auctions/{world.auction_id}",
            "/seller/refunds",
            f"/seller/refunds/{world.refund_id}",
            "/seller/settlements",
            "/seller/orders",
        ],
        "admin": [
            "/admin",
            "/admin/sellers",
            f"/admin/sellers/{world.application_id}",
            "/admin/members",
            f"/admin/members/{world.shopper.id}",
            "/admin/products",
            f"/admin/products/{world.product_id}",
            "/admin/categories",
            "/admin/payments",
            f"/admin/payments/{world.payment_id}",
            "/admin/refunds",
            f"/admin/refunds/{world.refund_id}",
            "/admin/policies",
            "/admin/events",
            "/admin/ops",
        ],
    }
