"""The look-up forms of a cardholder's phone number and e-mail address.

Care search finds a phone number by its last 4 or more digits and an e-mail address by
its whole text, at 100,000 accounts, through an index: the cardholder row keeps the
phone's last four digits (``phone_last4``) and the e-mail address as compared
(``email_key``), set from ``phone`` and ``email`` whenever those are written
(``Cardholder``'s validators) and filled for older rows by their migration. Search and
storage normalise through the same functions here, so they cannot drift apart.
"""

from __future__ import annotations

import unicodedata

__all__ = ["email_key", "phone_digits", "phone_last4"]


def phone_digits(text: str | None) -> str:
    """The digits of a phone number as typed or stored (full-width digits folded):
    ``"+86 138-1234 5678"`` → ``"8613812345678"``."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in folded if ch.isascii() and ch.isdigit())


def phone_last4(text: str | None) -> str | None:
    """The last four digits of a phone number, or None when it has fewer."""
    digits = phone_digits(text)
    return digits[-4:] if len(digits) >= 4 else None


def email_key(text: str | None) -> str | None:
    """An e-mail address as search compares it: trimmed, NFKC-folded, lower case
    (the local part of real addresses is case-insensitive in practice). None when empty."""
    folded = unicodedata.normalize("NFKC", text or "").strip().lower()
    return folded or None
