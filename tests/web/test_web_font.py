"""The shop's web font, "Smore Sans": a WOFF2 subset of an OFL font, served as font/woff2, declared in
static/css/fonts.css, linked from every page before smore.css, first in the body's font stack, with
the glyphs of the shop's Korean words and its licence beside it."""

from __future__ import annotations

import io
import re

import pytest
from fontTools.ttLib import TTFont

from app.settings import PROJECT_ROOT

FONTS = PROJECT_ROOT / "static" / "fonts"
WEIGHTS = ("400", "700")


def ks_x_1001_syllables() -> list[str]:
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR rows 0xB0-0xC8)."""
    return [bytes([high, low]).decode("euc_kr") for high in range(0xB0, 0xC9) for low in range(0xA1, 0xFF)]


@pytest.mark.parametrize("weight", WEIGHTS)
async def test_the_font_is_served_as_woff2_with_the_shops_korean_words(client, weight):
    r = await client.get(f"/static/fonts/smore-sans-{weight}.woff2")
    assert r.status_code == 200
    assert r.headers["content-type"] == "font/woff2"
    assert r.content[:4] == b"wOF2"
    font = TTFont(io.BytesIO(r.content))
    cmap = font.getBestCmap()
    for text in (
        "지금 구매",
        "결제 기한",
        "구매 권한을 얻었어요. 10:00 안에 결제해 주세요",
        "₩12,000 · 품절 — 「한정판」…",
    ):
        assert [c for c in text if ord(c) not in cmap] == [], text
    assert [s for s in ks_x_1001_syllables() if ord(s) not in cmap] == []
    assert all(code in cmap for code in range(0xAC00, 0xD7A4))  # every one of the 11,172 syllables
    assert all(code in cmap for code in range(0x20, 0x7F))


@pytest.mark.parametrize("weight", WEIGHTS)
def test_the_subset_is_renamed_and_small(weight):
    """The OFL reserves the original's name for the original: a subset carries its own."""
    path = FONTS / f"smore-sans-{weight}.woff2"
    assert path.stat().st_size <= 750_000  # the two weights together stay under 1.5 MB
    names = TTFont(str(path))["name"]
    assert names.getDebugName(1) == "Smore Sans"
    assert names.getDebugName(16) == "Smore Sans"
    assert "NanumGothic" not in (names.getDebugName(4) or "") + (names.getDebugName(6) or "")
    assert "NHN Corporation" in (names.getDebugName(0) or "")  # the copyright notice stays


async def test_the_licence_is_beside_the_font(client):
    licence = (FONTS / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE" in licence
    assert "Version 1.1" in licence
    assert "NAVER Corporation" in licence
    assert "Reserved Font Name" in licence
    readme = (FONTS / "README.md").read_text(encoding="utf-8")
    assert "fonts-nanum" in readme and "20200506-1" in readme and "make font" in readme
    r = await client.get("/static/fonts/OFL.txt")
    assert r.status_code == 200


async def test_fonts_css_declares_smore_sans_and_every_page_links_it_before_the_shops_styles(client):
    r = await client.get("/static/css/fonts.css")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/css")
    faces = re.findall(r"@font-face\s*{([^}]*)}", r.text)
    assert len(faces) == 2
    for face, weight in zip(faces, WEIGHTS, strict=True):
        assert 'font-family: "Smore Sans"' in face
        assert "font-display: swap" in face
        assert f"font-weight: {weight}" in face
        assert f'url("/static/fonts/smore-sans-{weight}.woff2") format("woff2")' in face

    for path in ("/", "/login"):
        page = (await client.get(path)).text
        head = page[: page.index("</head>")]
        assert 0 <= head.index("/static/css/fonts.css") < head.index("/static/css/smore.css")

    css = (PROJECT_ROOT / "static" / "css" / "smore.css").read_text(encoding="utf-8")
    body = re.search(r"^body\s*{[^}]*font:\s*([^;]*);", css, re.MULTILINE)
    assert body is not None
    assert body.group(1).split(" ", 1)[1].startswith('"Smore Sans",')
