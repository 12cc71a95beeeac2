"""The compact agreement fonts: which characters they keep, the @font-face rules, and the
fetcher that serves them (the fonts themselves are checked in tests/db/test_agreement_fonts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.agreements import fonts
from portal.agreements.render import RefusedURLError, static_fetcher

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "portal" / "static"


@pytest.fixture(scope="module")
def groups() -> list[str]:
    return fonts.wanted_characters(ROOT)


def test_the_first_group_holds_latin_punctuation_and_what_the_templates_and_catalogs_print(groups):
    first = set(groups[0])
    assert set("Repayment agreement 0123456789¥£€·—“”•◦") <= first
    assert set("，。：；（）「」、\u3000") <= first
    assert set("还款协议還款協議") <= first
    catalogs = "".join(path.read_text() for path in ROOT.glob("translations/*/LC_MESSAGES/messages.po"))
    assert set(catalogs) <= first


def test_the_common_ideographs_follow_gb2312_big5_then_gb2312_level_2(groups):
    _first, gb_1, big5_1, gb_2 = groups
    assert (len(gb_1), len(big5_1), len(gb_2)) == (3755, 5401, 3008)
    assert "王" in gb_1 and "陳" in big5_1 and "鑫" in gb_2
    # A rare name character stays out: it falls back to the system font (tests/db).
    assert not any("堃" in group for group in groups)


def test_face_rules_name_only_the_fonts_that_were_built(tmp_path):
    assert fonts.face_rules(tmp_path) == ""
    (tmp_path / "agreement-hei.ttf").write_bytes(b"\0")
    rules = fonts.face_rules(tmp_path)
    assert rules == '@font-face { font-family: "Agreement Hei"; src: url("portal-font:agreement-hei.ttf"); }'


def test_the_fetcher_serves_a_compact_font_from_its_folder(tmp_path):
    (tmp_path / "agreement-hei-mono.ttf").write_bytes(b"\0\1\0\0font")
    response = static_fetcher(STATIC, tmp_path).fetch("portal-font:agreement-hei-mono.ttf")
    assert response.read() == b"\0\1\0\0font"


@pytest.mark.parametrize(
    "url",
    [
        "portal-font:agreement-hei.ttf",  # not built
        "portal-font:other.ttf",
        "portal-font:../portal.sqlite3",
        "portal-font:/etc/passwd",
        "portal-font:agreement-hei-mono.ttf/../../wsgi.py",
    ],
)
def test_the_fetcher_refuses_any_other_font_url(tmp_path, url):
    (tmp_path / "agreement-hei-mono.ttf").write_bytes(b"font")
    with pytest.raises(RefusedURLError):
        static_fetcher(STATIC, tmp_path).fetch(url)


def test_without_a_font_folder_the_fetcher_serves_no_font():
    with pytest.raises(RefusedURLError):
        static_fetcher(STATIC).fetch("portal-font:agreement-hei.ttf")
