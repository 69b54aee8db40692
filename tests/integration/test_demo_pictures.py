"""The demo pictures' labels are drawn in Smore Sans, so a Korean name shows as Korean: not as the
boxes a font without Hangul draws (Pillow's own font)."""

from __future__ import annotations

import io
import logging
import sys

from PIL import Image, ImageChops, ImageDraw, ImageFont
from sqlalchemy import select

from app.demo_products import DEMO_PRODUCTS, LABEL_FONT, label_font, picture, wrap
from app.models.catalog import Product, ProductImage
from app.seed import seed
from tests.helpers.pictures import stored_bytes

KOREAN = next(d for d in DEMO_PRODUCTS if d.name.startswith("한정판피규어세트"))


def band(data: bytes) -> Image.Image:
    """The label's strip at the bottom of a picture."""
    return Image.open(io.BytesIO(data)).convert("RGB").crop((0, 680, 800, 800))


def white_pixels(img: Image.Image) -> int:
    return img.convert("L").point(lambda v: 255 if v > 200 else 0).histogram()[255]


def glyphs(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> list[bytes]:
    """Each character of ``text`` drawn alone, as pixels."""
    drawn = []
    for char in text:
        img = Image.new("L", (80, 80))
        ImageDraw.Draw(img).text((10, 10), char, font=font, fill=255)
        drawn.append(img.tobytes())
    return drawn


def test_hangul_syllables_are_drawn_as_different_glyphs_not_boxes():
    drawn = glyphs(label_font(), "지금구매결제")
    assert all(any(g) for g in drawn)
    assert len(set(drawn)) == len(drawn)
    # the check sees boxes: Pillow's own font has no Hangul and draws the same box for each
    assert len(set(glyphs(ImageFont.load_default(44), "지금구매결제"))) == 1


def test_a_long_name_wraps_within_the_picture():
    font = label_font()
    lines = wrap("아주 긴 이름의 한정판 피규어 세트 — 달빛 기사와 별빛 마법사의 특별한 모험 에디션 " * 3, font, 720)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 720 for line in lines)
    long_word = "한정판피규어세트" * 4
    broken = wrap(long_word, font, 300, max_lines=10)
    assert len(broken) > 1
    assert "".join(broken) == long_word
    assert all(font.getlength(line) <= 300 for line in broken)
    assert wrap("Moonlight Knight Figure", font, 720) == ["Moonlight Knight Figure"]


def test_where_pillow_cannot_read_woff2_fonttools_unpacks_it(monkeypatch):
    real = ImageFont.truetype
    expected = glyphs(real(str(LABEL_FONT), 44), "지금구매")

    def without_woff2(font, size=10, *args, **kwargs):
        if str(font).endswith(".woff2"):
            raise OSError("unknown file format")
        return real(font, size, *args, **kwargs)

    monkeypatch.setattr(ImageFont, "truetype", without_woff2)
    font = label_font.__wrapped__(44)
    assert isinstance(font, ImageFont.FreeTypeFont)
    assert str(font.path).endswith(".ttf")
    assert glyphs(font, "지금구매") == expected


def test_without_either_the_labels_fall_back_to_pillows_font_and_say_so(monkeypatch, caplog):
    real = ImageFont.truetype

    def unreadable(font, *args, **kwargs):
        if "smore-sans" in str(font):
            raise OSError("unknown file format")
        return real(font, *args, **kwargs)

    monkeypatch.setattr(ImageFont, "truetype", unreadable)
    monkeypatch.setitem(sys.modules, "fontTools.ttLib", None)
    with caplog.at_level(logging.WARNING, logger="smore.seed"):
        font = label_font.__wrapped__(44)
    assert font.getbbox("Smore")[2] > 0
    assert "default font" in caplog.text


async def test_a_seeded_korean_label_is_drawn_in_smore_sans(app, settings):
    await seed(settings)
    async with app.state.database.transaction() as db:
        product = (await db.execute(select(Product).where(Product.name == KOREAN.name))).scalar_one()
        first = (
            (
                await db.execute(
                    select(ProductImage).where(ProductImage.product_id == product.id).order_by(ProductImage.position)
                )
            )
            .scalars()
            .first()
        )
    assert first is not None
    stored = await stored_bytes(app, f"{first.stem}.{first.extension}")
    assert stored is not None

    label = band(stored)
    assert white_pixels(label) > 1_000  # the label is there, and large
    in_smore_sans = band(picture(KOREAN.colour, KOREAN.name, 0))
    assert ImageChops.difference(label, in_smore_sans).getbbox() is None  # exactly what Smore Sans draws
    in_default_font = band(picture(KOREAN.colour, KOREAN.name, 0, font=ImageFont.load_default(44)))
    assert ImageChops.difference(label, in_default_font).getbbox() is not None
