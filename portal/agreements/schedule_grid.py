"""The agreement's payment schedule as lines of fixed-width text, one table cell per row.

Why not one cell per value: WeasyPrint spends about half a millisecond on every table
cell, and a 60-installment schedule laid out as a four-column table was half of the
agreement's layout time. Each row is instead one line set in WenQuanYi Micro Hei Mono
and padded with spaces so that the columns line up: a third of the cost, and the same
figures in the same order (pdftotext reads them back left to right).

In that face every Latin glyph, digit, currency sign and space is 0.6 em wide and every
CJK ideograph and fullwidth form 1 em, the ideographic space U+3000 included. Widths are
therefore counted in fifths of an em: 3 for narrow characters, 5 for East Asian wide and
fullwidth ones. Padding mixes spaces (3) and ideographic spaces (5), which together make
every width from 8 up, so each column is at least 8 units wider than its widest entry.
Only characters whose advance the unit test has read from the installed font count as
fixed-width (`fixed_width`): printable ASCII, the no-break space, ¥ £ € at 0.6 em, CJK
ideographs, fullwidth parentheses and U+3000 at 1 em. A currency sign outside them
(₩, ₹, the narrow space of "F CFA"…) has another width or comes from a fallback font,
so the caller then shows plain numbers and names the currency in the column heads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["WIDTH", "ScheduleGrid", "fixed_width", "pad", "schedule_grid", "units"]

NARROW, WIDE = 3, 5  # fifths of an em
IDEOGRAPHIC_SPACE = "\u3000"
# The A4 text width (210 mm − 2 × 18 mm margins) less the cell padding (2 × 1.5 mm) is
# 171 mm; a fifth of an em at 8.5 pt is 0.5997 mm, so 285 units fit. Five are kept spare.
WIDTH = 280
GAP = 8  # the least padding that spaces and ideographic spaces can always make exactly


NARROW_CHARACTERS = frozenset(map(chr, range(0x20, 0x7F))) | {"\u00a0", "¥", "£", "€"}
WIDE_CHARACTERS = frozenset("\u3000（）")
# The CJK Unified Ideographs the font has (it stops short of the block's newest 60).
IDEOGRAPHS = ("\u4e00", "\u9fc3")


def fixed_width(text: str) -> bool:
    """Every character of `text` has the width `units` gives it in the schedule's face."""
    return all(ch in NARROW_CHARACTERS or ch in WIDE_CHARACTERS or IDEOGRAPHS[0] <= ch <= IDEOGRAPHS[1] for ch in text)


def units(text: str) -> int:
    """Width of `text` in the schedule's face, in fifths of an em."""
    return sum(WIDE if unicodedata.east_asian_width(ch) in "WF" else NARROW for ch in text)


def pad(width: int) -> str:
    """Blank text exactly `width` units wide: 0, 3, 5, 6 or any width from 8."""
    for wide in range(NARROW):
        rest = width - wide * WIDE
        if rest >= 0 and rest % NARROW == 0:
            return " " * (rest // NARROW) + IDEOGRAPHIC_SPACE * wide
    raise ValueError(f"no blank is {width} units wide")


@dataclass(frozen=True)
class ScheduleGrid:
    """The schedule's lines: the column heads, one per installment, and the totals."""

    head: str
    rows: list[str]
    total: str


def schedule_grid(
    head: Sequence[str], rows: Sequence[Sequence[str]], total: Sequence[str], width: int = WIDTH
) -> ScheduleGrid:
    """Lay out a schedule whose first column is text (left-aligned) and whose other
    columns are amounts (right-aligned), `width` units across when the content fits.

    Each column is its widest entry plus the gap; what is left over is shared by the
    amount columns, so the figures spread across the page as a table's would. Content
    wider than `width` is never cut: the lines are then simply longer.
    """
    table = [list(head), *(list(r) for r in rows), list(total)]
    count = len(head)
    if count < 2 or any(len(line) != count for line in table):
        raise ValueError("every line of the schedule needs the same two or more columns")
    widths = [max(units(line[i]) for line in table) + GAP for i in range(count)]
    spare = width - sum(widths)
    if spare > 0:
        share, extra = divmod(spare, count - 1)
        widths[1:] = [w + share + (1 if i < extra else 0) for i, w in enumerate(widths[1:])]

    def line(entries: list[str]) -> str:
        first, *amounts = entries
        text = first + pad(widths[0] - units(first))
        return text + "".join(pad(w - units(a)) + a for a, w in zip(amounts, widths[1:], strict=True))

    lines = [line(entries) for entries in table]
    return ScheduleGrid(head=lines[0], rows=lines[1:-1], total=lines[-1])
