"""Where a ``next`` parameter may send someone: a path on this site, nothing else.

Browsers are lenient when they read a ``Location``: they drop tabs and new lines
anywhere, strip leading spaces and control characters, and read ``\\`` as ``/``; so
``/\\t/evil.example`` becomes ``//evil.example``, another site. Rather than second-guess
every browser, anything that is not a plain printable path is refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_LENGTH = 2048


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a same-site path (``/…``), else None.

    Refused: empty or over-long values; any control, format or other non-printable
    character (including tabs and new lines, which browsers remove); backslashes;
    ``//`` at the start (a host); anything with a scheme or a host after parsing.
    """
    if not target or len(target) > MAX_LENGTH:
        return None
    if not all(ch.isprintable() for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
