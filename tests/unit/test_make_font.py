"""``make font`` (docs/make_font.py): the subset keeps Latin and Hangul and drops the rest, carries the
shop's name instead of the original's reserved one, keeps the copyright, and the licence is read
out of the Debian package's copyright file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from app.settings import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location("make_font", PROJECT_ROOT / "docs" / "make_font.py")
assert _spec is not None and _spec.loader is not None
make_font = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_font)

CHARS = {"A": 0x41, "ga": 0xAC00, "hih": 0xD7A3, "won": 0x20A9, "ideograph": 0x4E00, "cyrillic": 0x0416}


def _square() -> object:
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((500, 700))
    pen.lineTo((500, 0))
    pen.closePath()
    return pen.glyph()


def nanum_like(path: Path, style: str) -> None:
    """A tiny TrueType font named like the original, with one glyph per entry of CHARS."""
    names = [".notdef", *CHARS]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({code: name for name, code in CHARS.items()})
    fb.setupGlyf({name: _square() for name in names})
    fb.setupHorizontalMetrics({name: (600, 100) for name in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable(
        {
            "copyright": "Copyright © 2011 NHN Corporation. All rights reserved.",
            "familyName": "NanumGothic",
            "styleName": style,
            "uniqueFontIdentifier": "3.021;SAND;NanumGothic;161024_01;",
            "fullName": "NanumGothic",
            "psName": "NanumGothic",
            "version": "Version 3.021",
            "trademark": "NanumGothic Regular is a registered trademark of NHN Corporation.",
        }
    )
    fb.setupOS2()
    fb.setupPost()
    fb.save(str(path))


def test_the_subset_keeps_latin_and_hangul_under_the_shops_name(tmp_path):
    source = tmp_path / "nanum"
    source.mkdir()
    nanum_like(source / "NanumGothic.ttf", "Regular")
    nanum_like(source / "NanumGothicBold.ttf", "Bold")

    written = make_font.build(source, tmp_path / "out")

    assert [p.name for p in written] == ["smore-sans-400.woff2", "smore-sans-700.woff2"]
    for path, style in zip(written, ("Regular", "Bold"), strict=True):
        font = TTFont(str(path))
        assert font.flavor == "woff2"
        assert set(font.getBestCmap()) == {0x41, 0xAC00, 0xD7A3, 0x20A9}  # no ideographs, no Cyrillic
        names = {record.nameID: record.toUnicode() for record in font["name"].names}
        assert names[1] == names[16] == "Smore Sans"
        assert names[2] == style
        assert names[6] == f"SmoreSans-{style}"
        assert not [n for n in names.values() if n.startswith("NanumGothic")]
        assert names[0].startswith("Copyright © 2011 NHN Corporation")
        assert "Open Font License" in names[13]


def test_the_licence_is_read_out_of_the_debian_copyright_file(tmp_path):
    copyright_file = tmp_path / "copyright"
    copyright_file.write_text(
        "Files: *\nCopyright: 2010, NAVER Corporation\nLicense: OFL-1.1\n"
        " Copyright (c) 2010, NAVER Corporation,\n .\n with Reserved Font Name Nanum.\n .\n SIL OPEN FONT LICENSE\n"
        "\nFiles: debian/*\nLicense: GPL-3+\n See /usr/share/common-licenses/GPL-3.\n",
        encoding="utf-8",
    )
    assert make_font.licence_text(copyright_file) == (
        "Copyright (c) 2010, NAVER Corporation,\n\nwith Reserved Font Name Nanum.\n\nSIL OPEN FONT LICENSE\n"
    )
