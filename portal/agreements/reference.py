"""Agreement reference numbers people can read aloud and type: ``PA-7K3M-9QXD-4``.

Eight random symbols from Crockford's base32 alphabet (no I, L, O or U, so nothing
looks like 1 or 0 or spells a word) and one check symbol from the same alphabet.

The check symbol is Damm's algorithm over the field GF(32): the running value ``r``
takes each symbol ``s`` to ``x·r + s`` (``x`` a generator, polynomial x⁵ + x² + 1).
That operation is a totally anti-symmetric quasigroup, so every single-symbol
substitution and every transposition of two adjacent different symbols (the check
symbol included) changes the result: a mistyped reference is rejected before any
look-up. A valid reference folds to zero.

Pure: no Flask, no database.
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "PA"
DATA_LENGTH = 8
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
# What people type for what they mean (Crockford): letter O is zero, I and L are one.
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\u00a0\u3000")
_MODULUS = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


class BadReferenceError(ValueError):
    """Not a reference: wrong length, a symbol outside the alphabet, or a failed check."""


def _times_x(value: int) -> int:
    value <<= 1
    return value ^ _MODULUS if value & 0b100000 else value


def _fold(symbols: str) -> int:
    running = 0
    for symbol in symbols:
        running = _times_x(running) ^ _VALUE[symbol]
    return running


def check_symbol(data: str) -> str:
    """The check symbol for ``data`` (symbols of ``ALPHABET``)."""
    # The symbol c with x·r + c = 0 is x·r itself (characteristic 2).
    return ALPHABET[_times_x(_fold(data))]


def format_reference(symbols: str) -> str:
    """``7K3M9QXD4`` → ``PA-7K3M-9QXD-4``."""
    return f"{PREFIX}-{symbols[:4]}-{symbols[4:8]}-{symbols[8:]}"


def new_reference() -> str:
    """A fresh random reference (40 random bits) with its check symbol."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return format_reference(data + check_symbol(data))


def parse_reference(text: str) -> str:
    """The canonical form of a typed reference, or ``BadReferenceError``.

    Accepts any case, spaces and hyphens, full-width characters, with or without the
    ``PA`` prefix, and reads O as 0 and I or L as 1.
    """
    folded = unicodedata.normalize("NFKC", text or "").upper().translate(_SEPARATORS)
    if len(folded) == DATA_LENGTH + 1 + len(PREFIX) and folded.startswith(PREFIX):
        folded = folded[len(PREFIX) :]
    folded = folded.translate(_FOLD)
    if len(folded) != DATA_LENGTH + 1 or any(symbol not in _VALUE for symbol in folded):
        raise BadReferenceError("a reference is PA and nine letters or digits")
    if _fold(folded) != 0:
        raise BadReferenceError("the check symbol does not match")
    return format_reference(folded)


def is_valid(text: str) -> bool:
    """True when ``text`` parses as a reference with a correct check symbol."""
    try:
        parse_reference(text)
    except BadReferenceError:
        return False
    return True
