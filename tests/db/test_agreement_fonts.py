"""The compact agreement fonts `make setup` builds (portal/agreements/fonts.py), checked
against the system font they come from and in real agreements read back with poppler.

Under CI the fonts must have been built (`make test` runs `make setup`); elsewhere these
tests skip without them, as they do without poppler-utils.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from portal.agreements import fonts
from portal.extensions import db
from tests.conftest import ROOT, make_account, make_app, need, reset_schema
from tests.plan_factories import card_number, make_pending_agreement, make_plan

BUILT = ROOT / "instance" / fonts.FOLDER
SYSTEM_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
RARE_NAME = "王堃明"  # 堃 is in none of the compact font's sets, but in WenQuanYi Micro Hei


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def need_compact_fonts() -> None:
    need(all((BUILT / name).is_file() for _family, name, _index, _system in fonts.FACES), "make setup's compact fonts")
    need(SYSTEM_FONT.is_file(), "fonts-wqy-microhei")


def test_every_kept_glyph_has_the_system_fonts_outline_advance_and_hinting() -> None:
    need_compact_fonts()
    from fontTools.ttLib import TTFont

    for family, name, index, _system in fonts.FACES:
        source, compact = TTFont(SYSTEM_FONT, fontNumber=index), TTFont(BUILT / name)
        source_map, compact_map = source.getBestCmap(), compact.getBestCmap()
        assert len(compact_map) > 9_000
        for code, glyph in compact_map.items():
            original = source_map[code]
            assert compact["hmtx"][glyph] == source["hmtx"][original], chr(code)
            theirs, ours = source["glyf"][original], compact["glyf"][glyph]
            coordinates, ends, flags = theirs.getCoordinates(source["glyf"])
            assert ours.getCoordinates(compact["glyf"]) == (coordinates, ends, flags), chr(code)
            assert getattr(ours, "program", None) == getattr(theirs, "program", None), chr(code)
        # Latin first, and the agreement's own characters with the components they are
        # drawn from in the first ids, not near 49,000.
        assert compact.getGlyphID(compact_map[ord("A")]) < 100
        used = {compact_map[ord(ch)] for ch in "还款协议還款協議，。0123456789¥"}
        drawn_from = {part for glyph in used for part in compact["glyf"][glyph].getComponentNames(compact["glyf"])}
        assert drawn_from and max(compact.getGlyphID(glyph) for glyph in used | drawn_from) < 3000
        # Another family name; the copyright and licence records of the original kept.
        names = compact["name"]
        assert names.getDebugName(1) == family
        for record in (0, 7, 13, 14):
            assert names.getDebugName(record) == source["name"].getDebugName(record)


@pytest.fixture(scope="module")
def rare_name_agreement(tmp_path_factory: pytest.TempPathFactory):
    """The HTML of a zh_Hans agreement for a holder whose name has a rare ideograph."""
    from portal.agreements import render
    from portal.agreements.models import Agreement

    tmp = tmp_path_factory.mktemp("fonts")
    app = make_app(f"sqlite:///{tmp / 'fonts.sqlite3'}")
    reset_schema(app)
    account = make_account(app, card=card_number(7), name=RARE_NAME, locale="zh_Hans")
    agreement_id = make_pending_agreement(app, make_plan(app, account, "personalised", "zh_Hans", months=12))
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        yield app, render.render_html(agreement), agreement.reference
        db.engine.dispose()


def pdf_of(app, html: str, title: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    from portal.agreements import render

    monkeypatch.setattr(render, "font_folder", lambda: folder)
    with app.app_context():
        return render.html_to_pdf(html, title)


def faces(path: Path) -> list[str]:
    listed = run("pdffonts", str(path))
    assert listed.returncode == 0, listed.stderr
    return sorted(row.split()[0].split("+", 1)[1] for row in listed.stdout.splitlines()[2:])


def test_a_rare_ideograph_falls_back_to_the_system_font_and_reads_back(rare_name_agreement, tmp_path, monkeypatch):
    need_compact_fonts()
    need(shutil.which("pdffonts") is not None, "pdffonts (apt-get install poppler-utils)")
    app, html, reference = rare_name_agreement
    path = tmp_path / "rare.pdf"
    path.write_bytes(pdf_of(app, html, reference, BUILT, monkeypatch))

    assert faces(path) == ["Agreement-Hei", "Agreement-Hei-Mono", "WenQuanYi-Micro-Hei"]
    text = run("pdftotext", "-enc", "UTF-8", str(path), "-").stdout
    assert RARE_NAME in text


def test_compact_and_system_fonts_give_the_same_text_and_pixels(rare_name_agreement, tmp_path, monkeypatch):
    need_compact_fonts()
    need(shutil.which("pdftoppm") is not None, "pdftoppm (apt-get install poppler-utils)")
    app, html, reference = rare_name_agreement
    for label, folder in (("compact", BUILT), ("system", tmp_path / "not-built")):
        (tmp_path / f"{label}.pdf").write_bytes(pdf_of(app, html, reference, folder, monkeypatch))
        shown = run("pdftoppm", "-png", "-r", "60", str(tmp_path / f"{label}.pdf"), str(tmp_path / label))
        assert shown.returncode == 0, shown.stderr

    # Without the compact fonts (set-up not run) the system font alone sets everything.
    assert faces(tmp_path / "system.pdf") == ["WenQuanYi-Micro-Hei", "WenQuanYi-Micro-Hei-Mono"]
    texts = [
        run("pdftotext", "-enc", "UTF-8", str(tmp_path / f"{label}.pdf"), "-").stdout for label in ("compact", "system")
    ]
    assert texts[0] == texts[1] and RARE_NAME in texts[0]
    pages = sorted(path.name for path in tmp_path.glob("compact-*.png"))
    assert pages and pages == sorted(path.name.replace("system", "compact") for path in tmp_path.glob("system-*.png"))
    for page in pages:
        assert (tmp_path / page).read_bytes() == (tmp_path / page.replace("compact", "system")).read_bytes(), page


def test_setup_leaves_them_alone_once_built() -> None:
    need_compact_fonts()
    # Newer than the system font, the templates and the catalogs: nothing to write again.
    assert fonts.build(ROOT, BUILT, SYSTEM_FONT) == []
