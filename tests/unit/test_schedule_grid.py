"""The agreement's fixed-width schedule: widths, padding, alignment, and the font's real metrics."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from portal.agreements.schedule_grid import GAP, WIDTH, pad, schedule_grid, units

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


def test_the_mono_face_has_the_widths_the_grid_assumes_for_every_character_it_may_set() -> None:
    # Everything a schedule line can contain in our locales and currencies: Babel's
    # medium dates for every month, amounts with every digit, the catalogs' row pattern.
    advances, em = _font_advances()
    texts = {"（第）期数 no.到期还款日還本金费用或利息費應还额額合计計TotalDue date(installment)Principal Fee"}
    for locale in ("en", "zh_Hans", "zh_Hant"):
        for month in range(1, 13):
            texts.add(format_date(date(2026, month, 28), "medium", locale=locale))
        for currency in ("CNY", "HKD", "USD"):
            texts.add(format_currency(Decimal("1234567.89"), currency, locale=locale))
    for ch in sorted(set("".join(texts)) | {" ", "\u3000"}):
        assert ord(ch) in advances, f"{ch!r} is missing from the Mono face"
        assert advances[ord(ch)] / em == pytest.approx(units(ch) / 5, abs=0.001), f"{ch!r} is not {units(ch)}/5 em"
