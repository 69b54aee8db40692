"""Sellers list products through the app: create a draft with pictures, edit, publish, cancel; and
every bad input gets a clear message, never a 500, and changes nothing."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from PIL import Image

from app.catalog.product_rules import to_local_input
from app.models.base import utcnow
from app.models.catalog import Product, ProductImage, ProductStatus, ProductStatusChange
from app.models.events import OutboxEvent
from tests.helpers.forms import REFUSAL_ARGS, refusals
from tests.helpers.pictures import stored_pictures
from tests.helpers.tables import count, followed, rows
from tests.helpers.web import field_error, login, post_form

MB = 1024 * 1024


def picture(fmt: str = "PNG", size: tuple[int, int] = (640, 480), colour: object = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)  # type: ignore[arg-type]
    return out.getvalue()


def png(name: str = "photo.png", data: bytes | None = None) -> tuple[str, tuple[str, bytes, str]]:
    # Each name its own colour: pictures are stored by content, so equal pictures are stored once.
    colour = tuple(hashlib.sha256(name.encode()).digest()[:3])
    return ("images", (name, data if data is not None else picture(colour=colour), "image/png"))


def good_form(category_id: int, /, **override: str) -> dict[str, str]:
    return {
        "name": "Moon jar",
        "description": "Hand thrown.\nNumbered <b>edition</b>.",
        "category_id": str(category_id),
        "list_price": "120,000",
        "total_quantity": "10",
        "fixed_quantity": "6",
        "purchase_limit": "2",
        "sale_starts_at": to_local_input(utcnow() + timedelta(days=1)),
        "auction_start_price": "100,000",
        "auction_increment": "5,000",
        "auction_duration_minutes": "60",
        **override,
    }


@pytest.fixture
async def seller(client, members):
    member = await members.seller("potter@example.test")
    await login(client, member.email)
    return member


@pytest.fixture
async def category(products):
    return await products.category("ceramics")


async def test_create_a_draft_with_two_pictures(client, app, seller, category):
    page = await client.get("/seller/products/new")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert "Ceramics" in page.text
    r = await post_form(
        client,
        "/seller/products",
        good_form(category.id),
        files=[png("a.png"), ("images", ("b.jpg", picture("JPEG"), "image/jpeg"))],
    )
    listing = await followed(client, r)
    assert "saved as a draft" in listing
    [product] = await rows(app, Product)
    assert product.seller_id == seller.id and product.status is ProductStatus.DRAFT
    assert (product.list_price, product.total_quantity, product.fixed_quantity, product.purchase_limit) == (
        120_000,
        10,
        6,
        2,
    )
    assert product.auction_start_price == 100_000 and product.auction_increment == 5_000
    assert product.description == "Hand thrown.\nNumbered <b>edition</b>."
    assert [img.extension for img in product.images] == ["png", "jpg"]
    assert len(await stored_pictures(app)) == 4
    for img in product.images:
        for url in (img.url, img.thumb_url):
            served = await client.get(url)
            assert served.status_code == 200 and served.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"RIFF")
    [created] = await rows(app, ProductStatusChange)
    assert created.from_status is None and created.to_status is ProductStatus.DRAFT
    assert "product.changed" in [e.topic for e in await rows(app, OutboxEvent)]
    assert f'id="product-{product.id}"' in listing and "Draft" in listing and "6 of 6" in listing
    assert f'href="/seller/products/{product.id}/edit"' in listing


async def test_edit_a_draft_then_publish_then_cancel(client, app, seller, category, products):
    product = await products.create(seller, category_id=category.id, status=ProductStatus.DRAFT)
    page = await client.get(f"/seller/products/{product.id}/edit")
    assert page.status_code == 200 and 'value="50000"' in page.text
    r = await post_form(
        client,
        f"/seller/products/{product.id}",
        good_form(category.id, name="Moon jar II", fixed_quantity="10"),
        files=[png()],
    )
    assert "is saved" in await followed(client, r)
    [edited] = await rows(app, Product)
    assert edited.name == "Moon jar II" and edited.fixed_quantity == 10 and edited.auction_start_price is None
    assert len(edited.images) == 1 and edited.status is ProductStatus.DRAFT

    r = await post_form(client, f"/seller/products/{product.id}/publish")
    assert "is published" in await followed(client, r)
    [published] = await rows(app, Product)
    assert published.status is ProductStatus.SCHEDULED
    [change] = await rows(app, ProductStatusChange)
    assert (change.from_status, change.to_status, change.actor_id) == (
        ProductStatus.DRAFT,
        ProductStatus.SCHEDULED,
        seller.id,
    )

    confirm = await client.get(f"/seller/products/{product.id}/cancel")
    assert confirm.status_code == 200 and 'id="cancel-product"' in confirm.text
    r = await post_form(client, f"/seller/products/{product.id}/cancel")
    assert "is cancelled" in await followed(client, r)
    [cancelled] = await rows(app, Product)
    assert cancelled.status is ProductStatus.CANCELLED
    assert [c.to_status for c in await rows(app, ProductStatusChange)] == [
        ProductStatus.SCHEDULED,
        ProductStatus.CANCELLED,
    ]


async def test_publishing_after_the_start_time_asks_for_a_new_one(client, app, seller, category, products):
    product = await products.create(
        seller, category_id=category.id, status=ProductStatus.DRAFT, sale_starts_at=utcnow() - timedelta(hours=1)
    )
    r = await post_form(client, f"/seller/products/{product.id}/publish")
    assert r.status_code == 422
    assert "start time has passed" in field_error(r.text, "sale_starts_at")
    [unchanged] = await rows(app, Product)
    assert unchanged.status is ProductStatus.DRAFT and await rows(app, ProductStatusChange) == []


REFUSED = {
    "list_price": {
        "at least ₩1": ["-1000", "0"],
        "at most ₩1,000,000,000": ["99999999999999999999999"],
        "whole number": ["twelve", "１２,０００"],
    },
    "total_quantity": {
        "at least 1": ["-3", "0"],
        "at most 100,000": ["100000000"],
        "whole number": ["1.5", "²", "٣"],
    },
    "fixed_quantity": {"at least 0": ["-1"], "cannot be more than the total quantity": ["11"]},
    "purchase_limit": {"at least 1": ["-1"], "whole number": ["１"]},
    "sale_starts_at": {"in the past": ["2020-01-01T09:00"], "date and time": ["not a date"]},
    "auction_start_price": {"at least ₩1": ["0", "-5"]},
    "auction_increment": {"whole number": ["abc"]},
    "auction_duration_minutes": {"at least 5 minutes": ["1"]},
    "name": {"Enter the product": [""]},
    "category_id": {"Choose one of the listed categories": ["424242"]},
}


@pytest.mark.parametrize(REFUSAL_ARGS, refusals(REFUSED))
async def test_bad_fields_are_refused_next_to_the_field(client, app, seller, category, field, value, message):
    r = await post_form(client, "/seller/products", good_form(category.id, **{field: value}), files=[png()])
    assert r.status_code == 422
    assert message in field_error(r.text, field)
    assert "Hand thrown." in r.text  # what was typed is kept
    if field != "list_price":
        assert 'value="120,000"' in r.text
    assert await count(app, Product) == 0 and await count(app, ProductImage) == 0
    assert await stored_pictures(app) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("images", ("anim.gif", picture("GIF"), "image/gif"))], "“anim.gif” is a GIF file"),
        (
            [png("notes.png", b"Dear diary, today I renamed a text file.\n" * 30)],
            "“notes.png” is not a JPEG, PNG or WebP",
        ),
        ([png("big.png", picture() + b"\0" * (5 * MB))], "“big.png” is larger than 5 MB"),
        ([png(f"p{n}.png") for n in range(6)], "at most 5 pictures; you chose 6"),
    ],
)
async def test_bad_pictures_are_refused_and_nothing_is_written(client, app, seller, category, files, message):
    r = await post_form(client, "/seller/products", good_form(category.id), files=files)
    assert r.status_code == 422
    assert message in field_error(r.text, "images")
    assert await count(app, Product) == 0 and await count(app, ProductImage) == 0
    assert await stored_pictures(app) == []


async def test_pictures_beyond_five_in_all_are_refused_on_edit(client, app, seller, category):
    r = await post_form(client, "/seller/products", good_form(category.id), files=[png(f"{n}.png") for n in range(4)])
    [product] = await rows(app, Product)
    r = await post_form(
        client, f"/seller/products/{product.id}", good_form(category.id, name="Changed"), files=[png(), png()]
    )
    assert r.status_code == 422
    assert "keeps 4, so add at most 1 more" in field_error(r.text, "images")
    [unchanged] = await rows(app, Product)
    assert unchanged.name == "Moon jar" and len(unchanged.images) == 4 and len(await stored_pictures(app)) == 8


async def test_another_sellers_product_is_not_found(client, app, members, seller, category, products):
    other = await members.seller("rival@example.test")
    theirs = await products.create(other, category_id=category.id, status=ProductStatus.DRAFT)
    for url in (
        f"/seller/products/{theirs.id}/edit",
        f"/seller/products/{theirs.id}/cancel",
        "/seller/products/99999999999/edit",
    ):
        assert (await client.get(url)).status_code == 404
    for url in (
        f"/seller/products/{theirs.id}",
        f"/seller/products/{theirs.id}/publish",
        f"/seller/products/{theirs.id}/cancel",
    ):
        r = await post_form(client, url, good_form(category.id, name="Stolen"), files=[png()])
        assert r.status_code == 404, url
    [untouched] = await rows(app, Product)
    assert untouched.name != "Stolen" and untouched.status is ProductStatus.DRAFT and untouched.images == []
    assert await stored_pictures(app) == [] and await rows(app, ProductStatusChange) == []
    listing = await client.get("/seller/products")
    assert f'id="product-{theirs.id}"' not in listing.text


@pytest.mark.parametrize(
    "started",
    [
        {"status": ProductStatus.ON_SALE},
        {"status": ProductStatus.AUCTION_LIVE},
        {"status": ProductStatus.SCHEDULED, "sale_starts_at": utcnow() - timedelta(minutes=1)},
    ],
)
async def test_edits_after_the_sale_started_are_refused(client, app, seller, category, products, started):
    product = await products.create(seller, category_id=category.id, **started)
    page = await client.get(f"/seller/products/{product.id}/edit")
    assert page.status_code == 200 and 'id="frozen"' in page.text and 'id="product-form"' not in page.text
    r = await post_form(client, f"/seller/products/{product.id}", good_form(category.id, list_price="1"), files=[png()])
    assert "The sale has started; price and quantities can no longer change." in await followed(client, r)
    r = await post_form(client, f"/seller/products/{product.id}/cancel")
    assert "be cancelled" in await followed(client, r)
    [unchanged] = await rows(app, Product)
    assert unchanged.list_price == 50_000 and unchanged.images == [] and await stored_pictures(app) == []
    # nothing the seller sent moved it; a due scheduled sale may only have opened on its own meanwhile
    changes = [(c.from_status, c.to_status) for c in await rows(app, ProductStatusChange)]
    if started["status"] is ProductStatus.SCHEDULED and unchanged.status is ProductStatus.ON_SALE:
        assert changes == [(ProductStatus.SCHEDULED, ProductStatus.ON_SALE)]
    else:
        assert unchanged.status is started["status"] and changes == []


async def test_list_shows_state_stock_and_quick_links(client, seller, category, products):
    draft = await products.create(
        seller, category_id=category.id, status=ProductStatus.DRAFT, name="<script>x</script>"
    )
    on_sale = await products.create(seller, category_id=category.id, taken_quantity=2)
    hidden = await products.create(
        seller,
        category_id=category.id,
        status=ProductStatus.HIDDEN,
        hidden_from=ProductStatus.ON_SALE,
        hidden_reason="Blurry photos",
    )
    page = await client.get("/seller/products")
    assert page.status_code == 200
    assert "<script>x</script>" not in page.text and "&lt;script&gt;" in page.text
    assert f"/seller/products/{draft.id}/publish" in page.text and f"/seller/products/{draft.id}/cancel" in page.text
    assert f"/products/{on_sale.id}" in page.text and f"/seller/products/{on_sale.id}/edit" not in page.text
    assert "4 of 6" in page.text and "On sale" in page.text
    assert "Hidden" in page.text and "Blurry photos" in page.text
    assert f"/seller/products/{hidden.id}/edit" not in page.text
    filtered = await client.get("/seller/products?status=draft")
    assert f'id="product-{draft.id}"' in filtered.text and f'id="product-{on_sale.id}"' not in filtered.text
    assert (await client.get("/seller/products?status=bogus&page=x")).status_code == 200
    dashboard = await client.get("/seller")
    assert 'href="/seller/products/new"' in dashboard.text and 'href="/seller/products"' in dashboard.text


async def test_shoppers_are_refused_and_visitors_sent_to_sign_in(client, app, members, category):
    for url in ("/seller/products", "/seller/products/new"):
        r = await client.get(url)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={url}"
    shopper = await members.create("shopper@example.test")
    await login(client, shopper.email)
    for url in ("/seller/products", "/seller/products/new"):
        assert (await client.get(url)).status_code == 403
    r = await post_form(client, "/seller/products", good_form(category.id), files=[png()])
    assert r.status_code == 403
    assert await count(app, Product) == 0 and await stored_pictures(app) == []


async def test_a_form_over_32_mb_is_refused_as_too_large(client, app, seller, category):
    r = await post_form(client, "/seller/products", good_form(category.id), files=[png("a.png", b"\0" * (33 * MB))])
    assert r.status_code == 413 and "Too large" in r.text
    assert await count(app, Product) == 0 and await stored_pictures(app) == []
