"""Report charts, drawn on the server as SVG by pygal and shown as ``<img>`` data URIs.

Why pygal: it is made for exactly this (SVG charts from Python, nothing else), pure
Python with one small dependency, maintained (3.1 in 2026), and it draws text as SVG
``<text>`` that the browser sets in its own fonts, so Chinese labels need no font files.
Its tooltips script is switched off (``js=[]``) and its inline config script removed
(:func:`_without_scripts`), so the SVG holds no script at all. An SVG shown through ``<img>``
is a static image to the browser: no script in it could run, and the page's strict
Content-Security-Policy (``img-src 'self' data:``) stays as it is. Every chart has a
table beside it with the same figures; the chart's ``alt`` text says so.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Sequence
from decimal import Decimal

import pygal
from lxml import etree
from pygal.style import Style

# pygal puts a legacy import hook for its map plugins (unused here) on sys.meta_path, with
# find_module() and no find_spec(). Python 3.11 warns, ImportWarning, each time an import
# falls through to it (an optional dependency that is not installed, as urllib3's
# brotlicffi), which is an error where warnings are errors; 3.12 ignores such a finder.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1b1b1b",
    foreground_strong="#1b1b1b",
    foreground_subtle="#6b6b6b",
    # Colours told apart by people with the common colour-vision deficiencies (Okabe-Ito).
    colors=("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"),
    font_family="system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=14,
    value_font_size=11,
)
MAX_SERIES = 6  # more than this many bars per label is unreadable: the table has them all


def _config(title: str, labels: Sequence[str], height: int) -> dict[str, object]:
    return {
        "title": title,
        "x_labels": list(labels),
        "style": _STYLE,
        "js": [],  # no script: the SVG is an image
        "disable_xml_declaration": True,
        "width": 720,
        "height": height,
        "legend_at_bottom": True,
        "truncate_legend": 40,
        "truncate_label": 30,
        "print_values": False,
        "show_y_guides": True,
    }


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int | Decimal | None]]], *, horizontal: bool
) -> str:
    """An SVG bar chart as a ``data:`` URI; ``series`` are (name, one value per label)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = max(320, 40 + 26 * len(labels) * min(len(series), MAX_SERIES)) if horizontal else 400
    # pygal draws a horizontal chart's first label at the bottom: reversed, the chart
    # reads top to bottom in the table's order (a funnel's first step on top).
    order = slice(None, None, -1) if horizontal else slice(None)
    chart = kind(**_config(title, list(labels)[order], height))
    for name, values in list(series)[:MAX_SERIES]:
        chart.add(
            name, [None if v is None else float(v) for v in list(values)[order]]
        )  # drawing only: the table is exact
    svg = _without_scripts(chart.render(is_unicode=True))
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _without_scripts(svg: str) -> bytes:
    """The SVG without its ``<script>`` elements (pygal always writes its config in one)."""
    root = etree.fromstring(svg.encode("utf-8"))
    for script in root.findall(".//{http://www.w3.org/2000/svg}script"):
        parent = script.getparent()
        if parent is not None:
            parent.remove(script)
    return bytes(etree.tostring(root, encoding="utf-8"))
