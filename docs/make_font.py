"""Builds the shop's web font, "Smore Sans", from NanumGothic (Debian's ``fonts-nanum``, SIL OFL 1.1):
Latin, all 11,172 Hangul syllables, the compatibility jamo and the punctuation Korean text uses,
without hinting, as WOFF2 into ``static/fonts/``, with the licence beside it.

    make font      (downloads the package, then runs this)
    python docs/make_font.py DIR_WITH_NANUMGOTHIC_TTF [COPYRIGHT_FILE]

The OFL reserves the name "NanumGothic" for the original, and a subset is a modified version: the
font is renamed in its name table (the copyright notice stays). Needs ``fonttools`` and ``brotli``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "fonts"
FAMILY = "Smore Sans"
SOURCE = "NanumGothic 3.021 from Debian's fonts-nanum 20200506-1"

# Latin and Latin-1, Latin Extended-A, general punctuation (dashes, quotes, ellipsis, ※), ₩ and €,
# letterlike symbols and arrows, maths operators, enclosed alphanumerics, shapes, CJK symbols and
# punctuation (「」『』〈〉《》、。), compatibility jamo, enclosed CJK (㈜), Hangul syllables, full-width forms.
UNICODES = (
    "U+0020-007E,U+00A0-017F,U+02C6-02DC,U+2000-206F,U+20A9,U+20AC,U+2100-2199,U+2200-22FF,"
    "U+2460-24FF,U+25A0-25FF,U+3000-303F,U+3131-318E,U+3200-32FF,U+AC00-D7A3,U+FF01-FF5E,U+FFE0-FFE6"
)
WEIGHTS = {"NanumGothic.ttf": ("Regular", 400), "NanumGothicBold.ttf": ("Bold", 700)}
# name ids kept from the original: copyright, version, manufacturer, designer, vendor and designer URLs
KEEP_NAMES = {0, 5, 8, 9, 11, 12}


def subset_options() -> subset.Options:
    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5", "DSIG"]
    return options


def rename(font: TTFont, style: str) -> None:
    """Only the Windows English records survive, under the new family name."""
    table = font["name"]
    table.names = [n for n in table.names if n.platformID == 3 and n.langID == 0x409 and n.nameID in KEEP_NAMES]
    postscript = f"SmoreSans-{style}"
    table.setName(FAMILY, 1, 3, 1, 0x409)
    table.setName(style, 2, 3, 1, 0x409)
    table.setName(f"{postscript}; subset of {SOURCE}", 3, 3, 1, 0x409)
    table.setName(FAMILY if style == "Regular" else f"{FAMILY} {style}", 4, 3, 1, 0x409)
    table.setName(postscript, 6, 3, 1, 0x409)
    table.setName(f"Latin and Hangul subset of {SOURCE}, renamed as the OFL asks.", 10, 3, 1, 0x409)
    table.setName("This Font Software is licensed under the SIL Open Font License, Version 1.1.", 13, 3, 1, 0x409)
    table.setName("https://openfontlicense.org", 14, 3, 1, 0x409)
    table.setName(FAMILY, 16, 3, 1, 0x409)
    table.setName(style, 17, 3, 1, 0x409)
    if "CFF " in font:  # not in NanumGothic (TrueType outlines); kept for another source
        font["CFF "].cff.fontNames = [postscript]
    font["post"].formatType = 3.0  # no glyph names: smaller, and nothing reads them


def build(source_dir: Path, out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, (style, weight) in WEIGHTS.items():
        options = subset_options()
        font = subset.load_font(str(source_dir / filename), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
        subsetter.subset(font)
        rename(font, style)
        font.recalcTimestamp = False  # the same package gives the same bytes
        target = out / f"smore-sans-{weight}.woff2"
        subset.save_font(font, str(target), options)
        written.append(target)
    return written


def licence_text(copyright_file: Path) -> str:
    """The OFL paragraph of a Debian ``copyright`` file, as plain text."""
    lines, inside = [], False
    for line in copyright_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("License: OFL"):
            inside = True
            continue
        if inside:
            if not line.startswith(" "):
                break
            lines.append("" if line.strip() == "." else line[1:])
    if not lines:
        raise SystemExit(f"no OFL licence found in {copyright_file}")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise SystemExit(__doc__)
    source_dir = Path(argv[0])
    for path in build(source_dir):
        print(f"{path}: {path.stat().st_size:,} bytes")
    if len(argv) == 2:
        (OUT / "OFL.txt").write_text(licence_text(Path(argv[1])), encoding="utf-8")
        print(f"{OUT / 'OFL.txt'} written")


if __name__ == "__main__":
    main(sys.argv[1:])
