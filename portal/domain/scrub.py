"""Comments that staff read, without card or phone numbers in them.

A cardholder may type a card number or a phone number into a free-text comment. Before a
comment is stored for staff, every run of at least :data:`MIN_DIGITS` digits (spaces,
dashes, dots, slashes and brackets between them allowed, full-width digits too) is
replaced by :data:`MASK`. Shorter runs (an amount, "3 months") stay readable; a date
written in digits alone may be masked too: better a lost date than a leaked number.
"""

from __future__ import annotations

import re

MIN_DIGITS = 7  # the shortest local phone numbers; card numbers have 13 to 19
MASK = "•••"
MAX_COMMENT = 200  # one line

_SEPARATORS = r"[ \t\-./()\u3000\uff0d\uff0e]*"
_NUMBER_RUN = re.compile(rf"\+?\d(?:{_SEPARATORS}\d){{{MIN_DIGITS - 1},}}")
_SPACES = re.compile(r"\s+")


def scrub_numbers(text: str) -> str:
    """``text`` with every long digit run (a card or phone number) replaced by :data:`MASK`."""
    return _NUMBER_RUN.sub(MASK, text)


# Identity numbers: a Mainland resident ID (17 digits and a digit or X), a Hong Kong ID
# card (one or two letters, a space or none, six digits, a check digit in brackets), a passport or permit
# (a letter or two and 7 to 9 digits). The digits alone would be masked by scrub_numbers,
# but the letters around them would be left behind as a clue.
_IDENTITY = re.compile(
    r"(?<![A-Za-z0-9])(?:\d{17}[\dXx]|[A-Za-z]{1,2}\s?\d{6}\s*[(（]\s*[0-9Aa]\s*[)）]|[A-Za-z]{1,2}\d{6,9})(?![A-Za-z0-9])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def scrub_identifiers(text: str) -> str:
    """``text`` without card, phone or identity numbers or e-mail addresses: what may be
    kept of a question typed by someone who is not signed in, or is."""
    return scrub_numbers(_IDENTITY.sub(MASK, _EMAIL.sub(MASK, text)))


def one_line_comment(text: str) -> str:
    """A comment as staff see it: one line, at most :data:`MAX_COMMENT` characters, no
    card or phone numbers (scrubbed before it is shortened, so no half number is left)."""
    line = _SPACES.sub(" ", scrub_numbers(text)).strip()
    return line[:MAX_COMMENT]
