"""The agreement's fixed-width schedule: widths, padding, alignment, and the font's real metrics."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from babel.numbers import list_currencies
from hypothesis import given
from hypothesis import strategies as st

from portal.agreements.schedule_grid import (
    GAP,
    IDEOGRAPHS,
    NARROW_CHARACTERS,
    WIDE_CHARACTERS,
    WIDTH,
    fixed_width,
    pad,
    schedule_grid,
    units,
)

ROWS = [
    ["2026年12月28日（第1期）", "¥150.33", "¥52.45", "¥202.78"],
    ["2027年1月28日（第2期）", "¥151.09", "¥51.69", "¥202.78"],
    ["2031年11月28日（第60期）", "¥201.91", "¥1.01", "¥202.92"],
]
HEAD = ["到期还款日（期数）", "本金", "费用或利息", "应还金额"]
TOTAL = ["合计", "¥10,489.00", "¥1,677.94", "¥12,166.94"]


def column_ends(line: str, entries: list[str]) -> list[int]:
    """Where each amount ends, in units from the start of the line."""
    ends, position = [], 0
    for entry in entries[1:]:
        index = line.index(entry, position)
        position = index + len(entry)
        ends.append(units(line[:position]))
    return ends


def test_units_count_narrow_and_wide_characters() -> None:
    assert units("¥1,234.50") == 9 * 3
    assert units("2026年1月") == 5 * 3 + 2 * 5
    assert units("（）\u3000") == 15


@given(st.integers(min_value=0, max_value=400))
def test_pad_is_exactly_as_wide_as_asked(width: int) -> None:
    if width in (1, 2, 4, 7):
        with pytest.raises(ValueError):
            pad(width)
    else:
        blank = pad(width)
        assert units(blank) == width and not blank.strip(" \u3000")


def test_every_line_is_as_wide_and_amounts_end_in_the_same_place() -> None:
    grid = schedule_grid(HEAD, ROWS, TOTAL)
    lines = [grid.head, *grid.rows, grid.total]
    assert {units(line) for line in lines} == {WIDTH}
    pairs = list(zip(lines, [HEAD, *ROWS, TOTAL], strict=True))
    assert len({tuple(column_ends(line, entries)) for line, entries in pairs}) == 1
    for line, entries in pairs:
        assert line.startswith(entries[0])  # the date column is left-aligned


def test_content_wider_than_the_page_is_never_cut() -> None:
    wide = [["x" * 120, "¥1", "¥2", "¥3"]]
    grid = schedule_grid(["date", "a", "b", "c"], wide, ["total", "¥1", "¥2", "¥3"])
    assert grid.rows[0].startswith("x" * 120) and grid.rows[0].endswith("¥3")
    assert units(grid.rows[0]) == units("x" * 120) + 4 * GAP + 3 * 3 * 2


def test_rows_must_match_the_head() -> None:
    with pytest.raises(ValueError):
        schedule_grid(HEAD, [["only", "three", "cells"]], TOTAL)


def _font_advances() -> tuple[dict[int, int], int]:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        pytest.fail("fontconfig's fc-match is missing; WeasyPrint needs fontconfig too")
    path = subprocess.run(
        [fc_match, "-f", "%{file}", "WenQuanYi Micro Hei Mono"], capture_output=True, text=True, check=True
    ).stdout
    if "wqy-microhei" not in path:
        pytest.fail(f"WenQuanYi Micro Hei Mono is not installed (fc-match found {path!r}); run scripts/system-packages")
    from fontTools.ttLib import TTCollection

    for font in TTCollection(path).fonts:
        if font["name"].getDebugName(1) == "WenQuanYi Micro Hei Mono":
            cmap, metrics = font.getBestCmap(), font["hmtx"]
            return {cp: metrics[glyph][0] for cp, glyph in cmap.items()}, font["head"].unitsPerEm
    pytest.fail("the collection has no Mono face")


def test_the_mono_face_has_the_widths_the_grid_assumes_for_every_character_it_calls_fixed() -> None:
    advances, em = _font_advances()
    wide = set(WIDE_CHARACTERS) | set(map(chr, range(ord(IDEOGRAPHS[0]), ord(IDEOGRAPHS[1]) + 1)))
    for ch in sorted(NARROW_CHARACTERS | wide):
        assert fixed_width(ch)
        assert ord(ch) in advances, f"{ch!r} is missing from the Mono face"
        assert advances[ord(ch)] / em == pytest.approx(units(ch) / 5, abs=0.001), f"{ch!r} is not {units(ch)}/5 em"
    for ch in ("₩", "₹", "\u202f", "₱", "\u9fff"):
        assert not fixed_width(ch)


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "zh_Hant"])
def test_every_currency_gives_aligned_fixed_width_lines(app, locale: str) -> None:
    from flask_babel import force_locale

    from portal.agreements.render import schedule_lines

    rows = [
        SimpleNamespace(
            number=n,
            due_date=date(2027, n, 28),
            principal=Decimal("123456.78"),
            charge=Decimal("1.5"),
            total=Decimal("123458.28"),
        )
        for n in range(1, 13)
    ]
    signs = 0
    with app.app_context(), force_locale(locale):
        for currency in list_currencies():
            grid = schedule_lines(rows, currency)
            lines = [grid.head, *grid.rows, grid.total]
            assert all(fixed_width(line) for line in lines), (currency, lines[1])
            assert len({units(line) for line in lines}) == 1, currency
            signs += currency not in grid.head
    assert signs > 50  # most currencies keep their sign; the rest are named in the heads
