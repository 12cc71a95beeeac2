"""SMS text as carriers count it: GSM-7 or UCS-2, in segments of a concatenated message.

A text whose every character is in the GSM 03.38 default alphabet (or its extension
table) goes as GSM-7: 160 septets in one message; the extension characters (``€``,
``[``, ``{``, ``~`` …) take two septets (an escape and the character). Any other
character, Chinese included, sends the whole text as UCS-2: 70 UTF-16 code units in
one message, and a character outside the Basic Multilingual Plane (most emoji) takes
two units. A longer text is split into parts that each lose room to the concatenation
header (6 bytes): 153 septets or 67 units a part. An escape pair or a surrogate pair is
never split across two parts, so a part may hold one fewer.

Invisible characters must not turn a GSM-7 text into UCS-2 and double its cost: Babel
writes English times with a narrow no-break space (U+202F) before "AM"/"PM" in some
locales, and text copied from elsewhere carries no-break or zero-width spaces.
:func:`sms_text` replaces such spaces with a plain space and drops zero-width
characters, when that leaves a GSM-7 text; a text that is UCS-2 anyway is left as it is
(a zero-width joiner belongs inside an emoji sequence there).

No library on PyPI is used for this: the candidates (``smsutil``, last release 2020;
``sms-counter`` 0.0.1) are unmaintained or new and untried, and the rules fit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM7, UCS2 = "GSM-7", "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}  # septets / UTF-16 units in a message of one part
PART = {GSM7: 153, UCS2: 67}  # in each part of a concatenated message

# GSM 03.38 default alphabet (the escape 0x1B itself is not a character of a text).
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as escape + character, two septets.
_EXTENSION = frozenset("\f^{}\\[~]|€")

# Spaces a reader cannot tell from a plain one (no-break, narrow no-break, thin, the
# typographic spaces U+2000-U+200A, medium mathematical, ideographic).
_SPACES = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
# Characters that show nothing: zero-width space, (non-)joiners, direction marks and
# isolates, word joiner, byte-order mark, soft hyphen, Arabic letter mark.
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class SmsCount:
    """How a text is sent: its ``encoding``, its length in ``units`` (septets for GSM-7,
    UTF-16 code units for UCS-2) and the number of ``segments`` a carrier bills."""

    encoding: str
    units: int
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 alphabet or its extension."""
    return all(c in _BASIC or c in _EXTENSION for c in text)


def _widths(text: str, encoding: str) -> list[int]:
    """Each character's size: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == GSM7:
        return [2 if c in _EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def count_segments(text: str) -> SmsCount:
    """The encoding, length and number of parts of ``text`` sent as one SMS (0 parts when
    empty). Parts are filled in order, and a two-unit character goes whole into the next
    part when it does not fit in the current one, as handsets and gateways split."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    widths = _widths(text, encoding)
    units = sum(widths)
    if units == 0:
        return SmsCount(encoding, 0, 0)
    if units <= SINGLE[encoding]:
        return SmsCount(encoding, units, 1)
    room, segments, used = PART[encoding], 1, 0
    for width in widths:
        if used + width > room:
            segments, used = segments + 1, 0
        used += width
    return SmsCount(encoding, units, segments)


def sms_text(text: str) -> str:
    """``text`` as it should be sent by SMS: invisible spaces made plain and zero-width
    characters dropped when that makes it GSM-7; otherwise ``text`` unchanged."""
    if is_gsm7(text):
        return text
    plain = _INVISIBLE.sub("", _SPACES.sub(" ", text))
    return plain if is_gsm7(plain) else text
