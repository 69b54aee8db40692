"""A listing's sale mode through the app: the seller picks first come, a waiting room or a draw on the
listing form (no JavaScript needed), a draw gets a seed whose SHA-256 is its commitment, a refused
mode saves nothing, and the product page explains the mode to shoppers without ever showing the seed."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.catalog.product_rules import to_local_input
from app.core.i18n import format_datetime, using
from app.models.base import utcnow
from app.models.catalog import Product, ProductImage, SaleMode
from app.models.catalog import ProductStatus as S
from tests.helpers.config import with_settings
from tests.helpers.tables import count, followed, rows
from tests.helpers.web import field_error, login, post_form

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def good_form(category_id: int, /, **override: str) -> dict[str, str]:
    return {
        "name": "Moon jar",
        "description": "Hand thrown.",
        "category_id": str(category_id),
        "list_price": "120,000",
        "total_quantity": "10",
        "fixed_quantity": "10",
        "purchase_limit": "2",
        "sale_starts_at": to_local_input(utcnow() + timedelta(days=1)),
        **override,
    }


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


async def an_hour_long_draw(members, products, seed: str):
    """A scheduled draw listing, entries open for an hour, with ``seed`` and its commitment."""
    starts = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    return await products.create(
        await members.seller(),
        status=S.SCHEDULED,
        sale_starts_at=starts,
        sale_mode=SaleMode.DRAW,
        draw_ends_at=starts + timedelta(hours=1),
        draw_seed=seed,
        draw_commitment=sha256(seed),
    )


def at(moment: datetime) -> str:
    """A time as the seller's form takes it (the suite's viewer zone)."""
    return to_local_input(moment)


@pytest.fixture
async def seller(client, members):
    member = await members.seller("potter@example.test")
    await login(client, member.email)
    return member


@pytest.fixture
async def category(products):
    return await products.category("ceramics")


def draw_form(category_id: int, starts: datetime, ends: datetime, **override: str) -> dict[str, str]:
    fields = {
        "sale_starts_at": at(starts),
        "sale_mode": "draw",
        "draw_ends_at": at(ends),
        "draw_min_account_days": "30",
    }
    return good_form(category_id, **(fields | override))


def starts_tomorrow() -> datetime:
    return (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)


async def test_the_form_offers_three_modes_with_every_field(client, seller):
    page = (await client.get("/seller/products/new")).text
    radios = re.findall(r'<input type="radio" id="f-sale_mode-(\w+)" name="sale_mode" value="(\w+)"', page)
    assert radios == [("first_come", "first_come"), ("waiting_room", "waiting_room"), ("draw", "draw")]
    assert re.search(r'value="first_come"\s+aria-describedby="h-sale_mode-first_come" checked>', page)
    assert page.count(" checked>") == 1
    for name in ("admission_rate_per_minute", "draw_ends_at", "draw_min_account_days"):
        assert f'name="{name}"' in page  # present whatever the mode: the page works without JavaScript
    assert 'name="draw_ends_at" type="datetime-local"' in page
    assert "Sale mode" in page and "3,000 a minute" in page  # the shop's rate, ADMISSION_RATE_PER_MINUTE
    assert "Members join a line 15 minutes before the start" in page


async def test_a_first_come_listing_is_stored_as_before(client, app, seller, category):
    r = await post_form(client, "/seller/products", good_form(category.id))
    assert "saved as a draft" in await followed(client, r)
    [product] = await rows(app, Product)
    assert product.sale_mode is SaleMode.FIRST_COME and product.admission_rate_per_minute is None
    assert (product.draw_ends_at, product.draw_min_account_days, product.draw_seed, product.draw_commitment) == (
        None,
        0,
        None,
        None,
    )


@pytest.mark.parametrize(("rate", "stored"), [("600", 600), ("", None)])
async def test_a_waiting_room_listing_keeps_its_rate_and_ignores_the_draw_fields(
    client, app, seller, category, rate, stored
):
    form = good_form(category.id, sale_mode="waiting_room", admission_rate_per_minute=rate, draw_ends_at="rubbish")
    r = await post_form(client, "/seller/products", form)
    assert "saved as a draft" in await followed(client, r)
    [product] = await rows(app, Product)
    assert product.sale_mode is SaleMode.WAITING_ROOM and product.admission_rate_per_minute == stored
    assert product.draw_ends_at is None and product.draw_seed is None and product.draw_commitment is None


async def test_a_draw_listing_gets_a_seed_and_its_commitment(client, app, seller, category):
    starts = starts_tomorrow()
    r = await post_form(
        client,
        "/seller/products",
        draw_form(category.id, starts, starts + timedelta(hours=2), admission_rate_per_minute="x"),
    )
    assert "saved as a draft" in await followed(client, r)
    [product] = await rows(app, Product)
    assert product.sale_mode is SaleMode.DRAW and product.admission_rate_per_minute is None
    assert product.draw_ends_at == starts + timedelta(hours=2) and product.draw_min_account_days == 30
    assert HEX64.match(product.draw_seed) and HEX64.match(product.draw_commitment)
    assert product.draw_commitment == sha256(product.draw_seed)


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        (4, "at least 5 minutes after the sale starts"),
        (-60, "at least 5 minutes after the sale starts"),
        (30 * 24 * 60 + 1, "at most 30 days after the sale starts"),
        (None, "Enter the date and time the draw's entries close."),
    ],
)
async def test_a_bad_draw_end_is_refused_next_to_it_and_nothing_is_saved(
    client, app, seller, category, minutes, message
):
    starts = starts_tomorrow()
    form = draw_form(category.id, starts, starts)
    form["draw_ends_at"] = "" if minutes is None else at(starts + timedelta(minutes=minutes))
    r = await post_form(client, "/seller/products", form)
    assert r.status_code == 422
    assert message in html.unescape(field_error(r.text, "draw_ends_at"))
    assert field_error(r.text, "sale_mode") == "" and field_error(r.text, "draw_min_account_days") == ""
    assert re.search(r'value="draw"\s+aria-describedby="h-sale_mode-draw" checked>', r.text)  # the choice is kept
    assert 'value="30"' in r.text and 'value="120,000"' in r.text
    assert await count(app, Product) == 0 and await count(app, ProductImage) == 0


async def test_sale_mode_errors_show_beside_the_other_fields_errors(client, app, seller, category):
    form = good_form(category.id, name="", sale_mode="lottery")
    r = await post_form(client, "/seller/products", form)
    assert r.status_code == 422
    assert "Choose one of the three sale modes." in field_error(r.text, "sale_mode")
    assert "Enter the product" in field_error(r.text, "name")
    assert await count(app, Product) == 0


async def test_a_draw_end_is_checked_even_when_another_field_is_wrong(client, app, seller, category):
    starts = starts_tomorrow()
    r = await post_form(
        client, "/seller/products", draw_form(category.id, starts, starts + timedelta(days=31), list_price="free")
    )
    assert r.status_code == 422
    assert "at most 30 days" in field_error(r.text, "draw_ends_at") and field_error(r.text, "list_price")
    assert await count(app, Product) == 0


async def test_editing_keeps_a_draws_seed_and_switching_to_first_come_clears_it(client, app, seller, category):
    starts = starts_tomorrow()
    await post_form(client, "/seller/products", draw_form(category.id, starts, starts + timedelta(hours=2)))
    [created] = await rows(app, Product)
    seed, committed = created.draw_seed, created.draw_commitment

    page = (await client.get(f"/seller/products/{created.id}/edit")).text
    assert re.search(r'value="draw"\s+aria-describedby="h-sale_mode-draw" checked>', page)
    assert f'value="{at(starts + timedelta(hours=2))}"' in page and 'name="draw_min_account_days"' in page
    assert seed not in page  # the seed is shown nowhere, not even to its seller

    later = starts + timedelta(hours=5)
    r = await post_form(
        client,
        f"/seller/products/{created.id}",
        draw_form(category.id, starts, later, draw_min_account_days="0", name="Moon jar II"),
    )
    assert "is saved" in await followed(client, r)
    [still] = await rows(app, Product)
    assert (still.name, still.draw_ends_at, still.draw_min_account_days) == ("Moon jar II", later, 0)
    assert (still.draw_seed, still.draw_commitment) == (seed, committed)

    form = draw_form(category.id, starts, later, sale_mode="first_come")
    r = await post_form(client, f"/seller/products/{created.id}", form)
    assert "is saved" in await followed(client, r)
    [plain] = await rows(app, Product)
    assert plain.sale_mode is SaleMode.FIRST_COME
    assert (plain.draw_seed, plain.draw_commitment, plain.draw_ends_at, plain.draw_min_account_days) == (
        None,
        None,
        None,
        0,
    )

    r = await post_form(client, f"/seller/products/{created.id}", draw_form(category.id, starts, later))
    [again] = await rows(app, Product)
    assert again.sale_mode is SaleMode.DRAW and again.draw_seed not in (None, seed)
    assert again.draw_commitment == sha256(again.draw_seed)


async def test_a_refused_edit_changes_nothing(client, app, seller, category):
    starts = starts_tomorrow()
    await post_form(client, "/seller/products", draw_form(category.id, starts, starts + timedelta(hours=2)))
    [before] = await rows(app, Product)
    form = draw_form(category.id, starts, starts + timedelta(minutes=1), name="Changed")
    r = await post_form(client, f"/seller/products/{before.id}", form)
    assert r.status_code == 422 and "at least 5 minutes" in field_error(r.text, "draw_ends_at")
    [after] = await rows(app, Product)
    assert (after.name, after.draw_ends_at, after.draw_seed) == (before.name, before.draw_ends_at, before.draw_seed)


def page_time(moment: datetime) -> str:
    with using("en", "Asia/Seoul"):  # a visitor's zone by default, with its name
        return format_datetime(moment)


async def test_the_product_page_explains_a_waiting_room(client, members, products):
    seller = await members.seller()
    starts = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    p = await products.create(seller, status=S.SCHEDULED, sale_starts_at=starts, sale_mode=SaleMode.WAITING_ROOM)
    r = await client.get(f"/products/{p.id}")
    assert r.status_code == 200
    assert "Sold through a waiting room" in r.text
    opens = page_time(starts - timedelta(minutes=15))
    assert (
        opens.endswith(" KST")
        and f'The line opens <time datetime="2031-03-04T10:45:00+00:00">{opens}</time>.' in r.text
    )
    assert "let in at a steady rate" in r.text
    assert "Sold by draw" not in r.text and "commitment" not in r.text


@with_settings("line-opens-half-an-hour-before", waiting_room_opens_before_minutes=30)
async def test_the_line_opens_as_long_before_the_start_as_the_shop_says(client, members, products):
    seller = await members.seller()
    starts = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    p = await products.create(seller, status=S.SCHEDULED, sale_starts_at=starts, sale_mode=SaleMode.WAITING_ROOM)
    r = await client.get(f"/products/{p.id}")
    assert page_time(starts - timedelta(minutes=30)) in r.text and 'datetime="2031-03-04T10:30:00+00:00"' in r.text


async def test_the_product_page_shows_a_draws_window_age_and_commitment_never_its_seed(client, members, products):
    seller = await members.seller()
    starts = datetime(2031, 3, 4, 11, 0, tzinfo=UTC)
    ends = starts + timedelta(days=2)
    seed = "5eed" * 16
    p = await products.create(
        seller,
        status=S.SCHEDULED,
        sale_starts_at=starts,
        sale_mode=SaleMode.DRAW,
        draw_ends_at=ends,
        draw_min_account_days=30,
        draw_seed=seed,
        draw_commitment=sha256(seed),
    )
    r = await client.get(f"/products/{p.id}")
    assert r.status_code == 200
    assert "Sold by draw" in r.text and "Sold through a waiting room" not in r.text
    window = re.search(r'<p id="draw-window">(.*?)</p>', r.text, re.S)
    assert window and page_time(starts) in window.group(1) and page_time(ends) in window.group(1)
    assert "Members whose account is at least 30 days old may enter." in r.text
    assert f'The draw\'s commitment (SHA-256): <code class="hash">{sha256(seed)}</code>' in html.unescape(r.text)
    assert "anyone can check that it matches" in r.text
    assert seed not in r.text


async def test_a_draw_open_to_every_account_says_nothing_about_age(client, members, products):
    p = await an_hour_long_draw(members, products, seed="0" * 64)
    r = await client.get(f"/products/{p.id}")
    assert 'id="draw-window"' in r.text and 'id="draw-account-age"' not in r.text
    assert sha256("0" * 64) in r.text


async def test_a_first_come_product_page_shows_nothing_new(client, members, products):
    seller = await members.seller()
    p = await products.create(seller, status=S.SCHEDULED)
    r = await client.get(f"/products/{p.id}")
    assert r.status_code == 200 and 'id="sale-mode"' not in r.text
    assert "waiting room" not in r.text.lower() and "draw" not in r.text.lower()


async def test_a_korean_product_page_names_the_draw_in_korean(client, members, products):
    p = await an_hour_long_draw(members, products, seed="1" * 64)
    r = await client.get(f"/products/{p.id}", headers={"Accept-Language": "ko"})
    assert "응모 추첨으로 판매해요" in r.text and "응모 기간은" in r.text and "KST" in r.text
