"""The agreement's compact fonts: WenQuanYi Micro Hei cut down to what agreements print.

WeasyPrint subsets a font but keeps its glyph ids, so an embedded subset carries a slot
for every glyph id up to the highest one used. WenQuanYi Micro Hei keeps its Mono face's
Latin glyphs near id 48,700 and the fullwidth punctuation near 34,400: each agreement
embedded ~49,000 slots per face (~450 KB before compression): ~27 ms of subsetting and
~1.8 MB more to deflate per 60-installment agreement, against ~6 ms with these copies.
`build` (run by ``make setup`` through scripts/agreement-fonts, not committed: it is
derived from the Debian font) keeps Latin-1, the punctuation and CJK symbol blocks, every
character of the agreement templates and translation catalogs, GB2312's and Big5's
first-level ideographs and GB2312's second, numbered in that order (each glyph followed
by the components it is drawn from), so an agreement's glyphs sit in the first few
thousand ids.

The stylesheet names the compact family first and the system one after it, so a
character the compact font lacks (a rare one in a name) falls back, glyph by glyph, to
the full font; without the compact files (set-up not run) everything is the system font.
The derived fonts keep the original's copyright, trademark and licence records
(Apache-2.0), say in their description that they are a cut-down copy, and carry another
family name, so they are never taken for the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FACES", "FOLDER", "SCHEME", "build", "face_rules", "wanted_characters"]

FOLDER = "agreement-fonts"  # under the instance folder
SCHEME = "portal-font:"
SOURCE_FAMILY = "WenQuanYi Micro Hei"
# (compact family, file, face index in the system font's collection, system family)
FACES = (
    ("Agreement Hei", "agreement-hei.ttf", 0, "WenQuanYi Micro Hei"),
    ("Agreement Hei Mono", "agreement-hei-mono.ttf", 1, "WenQuanYi Micro Hei Mono"),
)

# Always kept, first: Latin-1, general punctuation and currency signs, geometric shapes
# (list markers: a nested list's ◦), CJK symbols and punctuation, halfwidth and fullwidth forms.
BLOCKS = (
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20BF),
    (0x25A0, 0x25FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


def face_rules(folder: Path) -> str:
    """``@font-face`` rules for the compact files present in `folder` (none if set-up was not run)."""
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; src: url("{SCHEME}{name}"); }}'
        for family, name, _index, _system in FACES
        if (folder / name).is_file()
    )


def _gb2312(first_row: int, last_row: int) -> str:
    """The GB2312 ideographs in rows `first_row` to `last_row` (EUC-CN lead bytes)."""
    cells = (bytes((row, cell)) for row in range(first_row, last_row + 1) for cell in range(0xA1, 0xFF))
    return "".join(cell.decode("gb2312", errors="ignore") for cell in cells)


def _big5_level_1() -> str:
    found = []
    for lead in range(0xA4, 0xC7):
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            if (lead, trail) > (0xC6, 0x7E):
                break
            found.append(bytes((lead, trail)).decode("big5", errors="ignore"))
    return "".join(found)


def _text_of(paths: Iterable[Path]) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in paths)


def _printed_sources(root: Path) -> list[Path]:
    """The files an agreement's text comes from: its templates, the catalogs, the jurisdictions."""
    return [
        *sorted((root / "templates" / "agreements").glob("*.html")),
        root / "templates" / "journey" / "_macros.html",
        *sorted((root / "translations").glob("*/LC_MESSAGES/messages.po")),
        root / "portal" / "jurisdictions.py",
    ]


def wanted_characters(root: Path) -> list[str]:
    """Groups of characters, most used first: blocks, templates and catalogs, then GB2312's
    first level (3,755 ideographs), Big5's first level (5,401) and GB2312's second (3,008)."""
    blocks = "".join(chr(code) for start, end in BLOCKS for code in range(start, end + 1))
    printed = _text_of(_printed_sources(root))
    return [blocks + printed, _gb2312(0xB0, 0xD7), _big5_level_1(), _gb2312(0xD8, 0xF7)]


def _rename(font, family: str, about: str) -> None:
    """Another family name; copyright, trademark, vendor and licence records kept."""
    postscript = family.replace(" ", "")
    table = font["name"]
    for record in table.names:
        if record.nameID in (1, 4, 16, 18):
            record.string = family
        elif record.nameID == 3:
            record.string = f"{postscript}-subset"
        elif record.nameID == 6:
            record.string = postscript
        elif record.nameID == 10:
            record.string = f"{about} {record.toUnicode()}"


def _numbered(old: list[str], cmap: dict[int, str], groups: list[str], glyf: Any) -> list[str]:
    """The glyph order: .notdef, then by group and code point, each glyph followed by the
    components it is drawn from (half the ideographs are composites, and a subset needs
    their components too), then whatever is left in the original order. The subsetter
    keeps the original order, which puts the Mono face's Latin glyphs last."""
    order = [old[0]]
    placed = {old[0]}

    def place(name: str) -> None:
        if name not in placed:
            placed.add(name)
            order.append(name)
            if glyf[name].isComposite():
                for component in glyf[name].getComponentNames(glyf):
                    place(component)

    for text in groups:
        for ch in sorted(set(text)):
            if ord(ch) in cmap:
                place(cmap[ord(ch)])
    for name in old:
        place(name)
    return order


def _compact_face(source: Path, index: int, family: str, groups: list[str]):
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=index)
    cmap = font.getBestCmap()
    codes = [ord(ch) for ch in dict.fromkeys("".join(groups)) if ord(ch) in cmap]
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.glyph_names = False
    options.layout_features = ["*"]
    options.drop_tables += ["FFTM"]  # FontForge's timestamps
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codes)
    subsetter.subset(font)

    # Composite glyphs still hold their components' old ids until expanded into names.
    font.ensureDecompiled()
    glyf = font["glyf"]
    for glyph in glyf.glyphs.values():
        glyph.expand(glyf)
    order = _numbered(font.getGlyphOrder(), font.getBestCmap(), groups, glyf)
    font.setGlyphOrder(order)
    glyf.glyphOrder = order
    _rename(font, family, f"{family}: the glyphs of {SOURCE_FAMILY} a repayment agreement uses, renumbered.")
    return font


def build(root: Path, folder: Path, source: Path) -> list[Path]:
    """Write the compact faces of the `source` collection into `folder`, unless they are
    newer than everything they come from; return the files written."""
    inputs = [source, Path(__file__), *_printed_sources(root)]
    newest = max(path.stat().st_mtime for path in inputs if path.exists())
    targets = [folder / name for _family, name, _index, _system in FACES]
    if all(path.exists() and path.stat().st_mtime >= newest for path in targets):
        return []
    folder.mkdir(parents=True, exist_ok=True)
    groups = wanted_characters(root)
    written = []
    for family, name, index, _system in FACES:
        font = _compact_face(source, index, family, groups)
        partial = folder / f".{name}.tmp"
        font.save(partial)
        partial.replace(folder / name)
        written.append(folder / name)
    return written
