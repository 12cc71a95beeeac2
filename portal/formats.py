"""Amounts and dates exactly as Babel's ``format_currency`` and ``format_date`` write
them, without re-reading the locale data for every value.

``format_currency`` looks up the locale's pattern, number symbols, the currency's symbol,
digits and plural name on every call (about 50 µs): a page with a dozen amounts spent
more on that than on its queries. What those look-ups give depends only on the locale
and the currency, so :func:`currency_text` reads them once per pair and then only
rounds and groups the amount, the way ``NumberPattern.apply`` does. A pattern other than
the plain ``¤#,##0.00`` kind (grouping not by threes, quotes in it or in the symbols, a
scale, significant digits, ``¤¤`` codes) is not handled here: it returns None and the
caller asks Babel. A date's pattern is likewise parsed once per locale and style
(:func:`date_pattern`, :func:`time_pattern`), and a count's group separator read once per locale
(:func:`count_text`). tests/unit/test_formats.py compares them with Babel's own.

An amount or a rate is written the same for every page that shows it, so
:func:`money_text` and :func:`percent_text` keep what they wrote (a bounded number, least
recently used out), keyed by all it depends on: the value, its sign, the currency or the
number of decimals, the locale. Equal values with other exponents (1.5, 1.50) are
written alike, rounded to the currency's or the pattern's decimals, so the value is the
key; but -0 equals 0 and is written with its minus sign, so the sign is part of it too.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_time_format, parse_pattern
from babel.numbers import (
    format_currency,
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_quantum,
)

TEXTS_KEPT = 4096  # written amounts and rates kept per worker, each; a page shows a dozen or two


class _Form(NamedTuple):
    quantum: Decimal
    prefix: tuple[str, str]  # positive, negative
    suffix: tuple[str, str]
    separators: dict[int, str]  # str.translate table: "," and "." to the locale's symbols


def currency_text(amount: Decimal | str | int, currency: str, locale: Locale | str) -> str | None:
    """``amount`` in ``currency`` as ``format_currency(amount, currency, locale=locale)``
    writes it, or None when the locale's pattern is not one this module handles."""
    form = _form(str(locale), currency)
    if form is None:
        return None
    if not isinstance(amount, Decimal):  # case-file JSON keeps amounts as text; as Babel reads them
        amount = Decimal(str(amount))
    negative = int(amount.is_signed())  # as Babel: -0 is written with the minus sign
    rounded = abs(amount).normalize().quantize(form.quantum)
    number = f"{rounded:,f}".translate(form.separators)
    return f"{form.prefix[negative]}{number}{form.suffix[negative]}"


def money_text(amount: Decimal, currency: str, locale: str) -> str:
    """``format_currency(amount, currency, locale=locale)``, written once per key and kept."""
    return _money_text(amount, amount.is_signed(), currency, locale)


@lru_cache(maxsize=TEXTS_KEPT)
def _money_text(amount: Decimal, negative: bool, currency: str, locale: str) -> str:
    return currency_text(amount, currency, locale) or format_currency(amount, currency, locale=locale)


def percent_text(fraction: Decimal, digits: int, locale: str) -> str:
    """``fraction`` (0.1303) as the locale writes a percentage with ``digits`` decimals
    ("13.03%"): Babel's ``format_percent`` with that pattern, written once per key and kept."""
    return _percent_text(fraction, fraction.is_signed(), digits, locale)


@lru_cache(maxsize=TEXTS_KEPT)
def _percent_text(fraction: Decimal, negative: bool, digits: int, locale: str) -> str:
    return format_percent(fraction, format=percent_pattern(digits), locale=locale)


def percent_pattern(digits: int) -> str:
    """The percentage pattern with ``digits`` decimals: "#,##0.00%", "#,##0%"."""
    return "#,##0." + "0" * digits + "%" if digits else "#,##0%"


@lru_cache(maxsize=64)
def _form(locale_name: str, currency: str) -> _Form | None:
    locale = Locale.parse(locale_name)
    pattern = locale.currency_formats["standard"]
    symbols = locale.number_symbols["latn"]
    affixes = (*pattern.prefix, *pattern.suffix)
    # Babel strips quote pairs from the finished text, the group symbol's too (de_CH).
    quoted = any("'" in text for text in (*affixes, symbols["group"], symbols["decimal"]))
    plain = (
        pattern.grouping == (3, 3)
        and pattern.int_prec[0] == 1
        and pattern.scale == 0
        and not pattern.exp_prec
        and "@" not in pattern.pattern
        and not quoted
        and not any("¤¤" in affix for affix in affixes)
    )
    if not plain:
        return None
    symbol = get_currency_symbol(currency, locale)
    return _Form(
        quantum=get_decimal_quantum(get_currency_precision(currency)),
        prefix=(pattern.prefix[0].replace("¤", symbol), pattern.prefix[1].replace("¤", symbol)),
        suffix=(pattern.suffix[0].replace("¤", symbol), pattern.suffix[1].replace("¤", symbol)),
        separators=str.maketrans({",": symbols["group"], ".": symbols["decimal"]}),
    )


def count_text(value: int, locale: Locale | str) -> str | None:
    """A whole number of things (days, accounts) as ``format_decimal(value, locale=locale)``
    writes it, or None when this module leaves it to Babel (a negative number, or a
    pattern other than plain ``#,##0``-style grouping by threes)."""
    group = _group_symbol(str(locale))
    if group is None or value < 0 or isinstance(value, bool):
        return None
    return f"{value:,}".replace(",", group)


@lru_cache(maxsize=64)
def _group_symbol(locale_name: str) -> str | None:
    locale = Locale.parse(locale_name)
    pattern = locale.decimal_formats[None]
    plain = (
        pattern.grouping == (3, 3)
        and pattern.int_prec[0] == 1
        and pattern.frac_prec == (0, 3)
        and pattern.scale == 0
        and not pattern.exp_prec
        and pattern.prefix[0] == pattern.suffix[0] == ""
        and "'" not in locale.number_symbols["latn"]["group"]
    )
    return locale.number_symbols["latn"]["group"] if plain else None


@lru_cache(maxsize=64)
def time_pattern(locale_name: str, style: str) -> tuple[Locale, DateTimePattern]:
    """As :func:`date_pattern`, for ``format_time(value, style, locale=locale_name)`` of a
    time already in the zone to show it in."""
    locale = Locale.parse(locale_name)
    return locale, parse_pattern(get_time_format(style, locale=locale))  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def date_pattern(locale_name: str, style: str) -> tuple[Locale, DateTimePattern]:
    """The locale and parsed pattern ``format_date(value, style, locale=locale_name)`` uses
    (a style name or a pattern): ``pattern.apply(value, locale)`` writes what it writes."""
    locale = Locale.parse(locale_name)
    if style in ("full", "long", "medium", "short"):
        return locale, parse_pattern(get_date_format(style, locale=locale))  # type: ignore[arg-type]
    return locale, parse_pattern(style)
