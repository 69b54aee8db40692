"""A dozen demo products across categories and states, with generated pictures, so that
``make run`` shows a living shop. Idempotent: a product the seller already has (by name) is
skipped."""

from __future__ import annotations

import functools
import io
import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auctions.service import open_for_product
from app.catalog.images import Upload, process_image, store
from app.catalog.pictures import pictures_for
from app.catalog.transitions import product_changed
from app.db import add_once
from app.drops.stock import ledger_entry
from app.events.outbox import record_event
from app.events.topics import Topic
from app.models.base import utcnow
from app.models.catalog import Category, Product, ProductImage, ProductStatus, ProductStatusChange
from app.models.drops import PurchaseRight, RightStatus, StockEntry, StockReason
from app.models.members import Member
from app.settings import PROJECT_ROOT, Settings

S = ProductStatus
log = logging.getLogger("smore.seed")

# The shop's web font (static/fonts/README.md): the pictures' labels are drawn with it, so a Korean
# name shows as Korean, not as boxes.
LABEL_FONT = PROJECT_ROOT / "static" / "fonts" / "smore-sans-700.woff2"
LABEL_SIZE = 44
AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Demo:
    name: str
    category: str
    price: int
    total: int
    fixed: int
    status: ProductStatus
    starts_in: timedelta
    colour: tuple[int, int, int]
    description: str


_DAY = timedelta(days=1)
_MIN = timedelta(minutes=1)

DEMO_PRODUCTS = [
    Demo(
        "한정판피규어세트 — 달빛 기사",
        "anime-figures",
        189_000,
        20,
        15,
        S.ON_SALE,
        -2 * _DAY,
        (38, 52, 120),
        "달빛 기사 한정판 피규어 세트.\n\n- 1/7 스케일\n- **넘버링** 인증서 포함",
    ),
    Demo(
        "Moonlight Knight Figure (Limited 1/7)",
        "anime-figures",
        159_000,
        12,
        8,
        S.SCHEDULED,
        15 * _MIN,
        (70, 60, 160),
        "The knight in 1/7 scale, **numbered** certificate included.\n\nShips in two weeks.",
    ),
    Demo(
        "Designer Vinyl Bear — Cobalt Edition",
        "designer-toys",
        89_000,
        30,
        30,
        S.ON_SALE,
        -1 * _DAY,
        (20, 90, 200),
        "A cobalt vinyl bear, 400% size. Fixed price only: no auction.",
    ),
    Demo(
        "한정 스니커즈 — 서울 나이트 러너",
        "limited-sneakers",
        239_000,
        40,
        30,
        S.SCHEDULED,
        2 * 60 * _MIN,
        (30, 30, 30),
        "서울의 밤을 담은 러닝화. 사이즈 250–290.",
    ),
    Demo(
        "Retro Runner '86 Sneakers, numbered",
        "limited-sneakers",
        210_000,
        8,
        3,
        S.CONVERSION_PENDING,
        -3 * _DAY,
        (200, 60, 40),
        "The '86 runner, reissued in a numbered run of 25.",
    ),
    Demo(
        "K-pop 사인 앨범 한정판 (Signed Album)",
        "k-pop",
        65_000,
        100,
        90,
        S.ON_SALE,
        -6 * 60 * _MIN,
        (230, 120, 170),
        "Signed by every member. 사인 앨범 한정판.",
    ),
    Demo(
        "Tour Poster Print — Signed, 50 copies",
        "prints",
        45_000,
        50,
        40,
        S.AUCTION_LIVE,
        -4 * _DAY,
        (240, 180, 40),
        "Screen-printed tour poster, hand-signed and numbered.",
    ),
    Demo(
        "아트 프린트 '봄의 정원' 리미티드",
        "prints",
        120_000,
        10,
        5,
        S.ENDED,
        -20 * _DAY,
        (90, 170, 90),
        "봄의 정원, 지클레 프린트 10점 한정.",
    ),
    Demo(
        "Glow-in-the-dark Kaiju Figurine",
        "designer-toys",
        72_000,
        15,
        10,
        S.SCHEDULED,
        _DAY,
        (60, 200, 120),
        "Glows for hours. Running in a limited batch of fifteen.",
    ),
    Demo(
        "한정판 아크릴 스탠드 세트",
        "k-pop",
        28_000,
        200,
        150,
        S.ON_SALE,
        -2 * 60 * _MIN,
        (160, 100, 230),
        "아크릴 스탠드 5종 세트.",
    ),
    Demo(
        "Hand-painted Resin Dragon (Artist Proof)",
        "figures",
        350_000,
        5,
        3,
        S.ON_SALE,
        -30 * _MIN,
        (150, 30, 30),
        "Each dragon is painted by hand; artist proofs only.",
    ),
    Demo(
        "Secret Collab Sneaker (draft)",
        "limited-sneakers",
        199_000,
        10,
        10,
        S.DRAFT,
        7 * _DAY,
        (120, 120, 120),
        "Not announced yet.",
    ),
]


@functools.cache
def label_font(size: int = LABEL_SIZE, path: Path = LABEL_FONT) -> AnyFont:
    """Smore Sans at ``size`` pixels. Pillow's FreeType reads WOFF2 when it was built with Brotli (its
    wheels are); otherwise fontTools, where installed, unpacks it into a TrueType file first. Without
    either, Pillow's own font (Latin only) stands in, and the log says so."""
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        pass
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(str(path))
        font.flavor = None
        unpacked = Path(tempfile.mkdtemp(prefix="smore-font-")) / f"{path.stem}.ttf"
        font.save(str(unpacked))
        return ImageFont.truetype(str(unpacked), size)
    except Exception:
        log.warning("the demo pictures' labels use Pillow's default font: %s could not be read", path.name)
        return ImageFont.load_default(size)


def wrap(label: str, font: AnyFont, width: float, max_lines: int = 3) -> list[str]:
    """``label`` in lines no wider than ``width``: broken at spaces, a word too long for a line at
    any character; the last line shortened with "…" when more would follow."""
    lines: list[str] = []
    line = ""
    for word in label.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and font.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def picture(colour: tuple[int, int, int], label: str, shade: int, font: AnyFont | None = None) -> bytes:
    """An 800 × 800 PNG: a disc on a ground of ``colour`` (darker by ``shade``) and ``label`` in white
    on a dark band at the bottom, in Smore Sans unless ``font`` says otherwise."""
    font = font or label_font()
    img = Image.new("RGB", (800, 800), tuple(max(0, c - shade) for c in colour))
    draw = ImageDraw.Draw(img)
    draw.ellipse((200, 200, 600, 600), fill=tuple(min(255, c + 60) for c in colour))
    lines = wrap(label, font, 720)
    line_height = round(LABEL_SIZE * 1.3)
    top = 800 - 40 - line_height * len(lines)
    draw.rectangle((0, top - 24, 800, 800), fill=(20, 20, 28))
    for n, line in enumerate(lines):
        draw.text((40, top + n * line_height), line, font=font, fill=(255, 255, 255))
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


async def _demo_stock(db: AsyncSession, product: Product, shopper: Member | None, now: datetime) -> None:
    """A ledger that adds up: the opening row, then what was sold before the demo began. The
    sold-out sale waits on one right of the demo shopper that is still unpaid."""
    if product.status not in (S.ON_SALE, S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED):
        return
    await add_once(db, ledger_entry(product.id, product.fixed_quantity, StockReason.LISTING))
    if product.status is S.CONVERSION_PENDING and shopper is not None:
        for n in range(product.taken_quantity):
            right = PurchaseRight(
                product_id=product.id,
                member_id=shopper.id,
                idempotency_key=uuid.uuid4().hex,
                status=RightStatus.HELD if n == 0 else RightStatus.PAID,
                unit_price=product.list_price,
                expires_at=now + timedelta(minutes=10),
                decided_at=None if n == 0 else now,
            )
            db.add(right)
            await db.flush()
            await add_once(db, ledger_entry(product.id, -1, StockReason.PURCHASE, f"right:{right.id}"))
            if n == 0:
                await record_event(db, Topic.RIGHT_GRANTED, "purchase_right", right.id, product_id=product.id)
    elif product.taken_quantity:
        sold = StockEntry(
            product_id=product.id,
            delta=-product.taken_quantity,
            reason=StockReason.PURCHASE,
            reference="sold before the demo began",
            unique_key=f"purchase:demo:{product.id}",
        )
        await add_once(db, sold)


def _auction_minutes(demo: Demo) -> int:
    """A demo auction that is already live stays open for two days."""
    return 2880 if demo.status is S.AUCTION_LIVE else 60


async def seed_products(db: AsyncSession, settings: Settings, seller: Member, shopper: Member | None = None) -> int:
    categories = {c.slug: c for c in (await db.execute(select(Category))).scalars()}
    existing = set((await db.execute(select(Product.name).where(Product.seller_id == seller.id))).scalars())
    now = utcnow()
    added = 0
    for demo in DEMO_PRODUCTS:
        if demo.name in existing or demo.category not in categories:
            continue
        taken = demo.fixed if demo.status in (S.CONVERSION_PENDING, S.AUCTION_LIVE, S.ENDED) else 0
        product = Product(
            seller_id=seller.id,
            category_id=categories[demo.category].id,
            name=demo.name,
            description=demo.description,
            list_price=demo.price,
            total_quantity=demo.total,
            fixed_quantity=demo.fixed,
            taken_quantity=taken,
            purchase_limit=demo.fixed if demo.status is S.CONVERSION_PENDING else (1 if demo.total < 50 else 2),
            sale_starts_at=now + demo.starts_in,
            auction_start_price=demo.price * 8 // 10 if demo.fixed < demo.total else None,
            auction_increment=1_000 if demo.fixed < demo.total else None,
            auction_duration_minutes=_auction_minutes(demo) if demo.fixed < demo.total else None,
            status=demo.status,
        )
        db.add(product)
        await db.flush()
        uploads = [
            process_image(Upload(f"demo{i}.png", picture(demo.colour, demo.name, i * 40)), 10**7) for i in (0, 1)
        ]
        for position, stored in enumerate(await store(db, pictures_for(settings), uploads)):
            db.add(ProductImage(product_id=product.id, position=position, **stored.row_values()))
        db.add(ProductStatusChange(product_id=product.id, from_status=None, to_status=demo.status, reason="demo data"))
        await _demo_stock(db, product, shopper, now)
        if product.status is S.AUCTION_LIVE:
            await open_for_product(db, product.id, now)
        await record_event(
            db, Topic.PRODUCT_STATUS_CHANGED, "product", product.id, from_status=None, to_status=demo.status.value
        )
        await product_changed(db, product)
        added += 1
    return added
