"""Money arithmetic shared by every plan: the decimal context, currencies, rounding.

Amounts are `decimal.Decimal` in a currency's major unit (yuan, not fen). Each currency's
minor unit comes from Babel's CLDR data, so JPY has none, CNY two and KWD three. Rounding
to it is half-up, the convention card statements use.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    FloatOperation,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import cache, wraps
from typing import ParamSpec, TypeVar

from babel.numbers import get_currency_precision, list_currencies

__all__ = [
    "CONTEXT",
    "ZERO",
    "CurrencyError",
    "ceil_money",
    "computing_in_context",
    "currency_places",
    "is_known_currency",
    "minor_unit",
    "round_money",
    "to_decimal",
]

# Every public domain function computes inside a local copy of this context, so results
# never depend on whatever context the caller left behind. 28 digits hold any card balance
# with room for rate products; trapping FloatOperation makes a stray float fail loudly
# instead of leaking binary noise into money.
CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, FloatOperation],
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def computing_in_context(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """The public face of a hot-path function: the same call, run in a copy of CONTEXT.

    The undecorated function is kept as ``in_context_<name>`` for callers that already
    compute inside CONTEXT (offers build thousands of schedules; opening a context per
    schedule and per rate was a measurable share of their time).
    """

    @wraps(fn)
    def public(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(CONTEXT):
            return fn(*args, **kwargs)

    return public


ZERO = Decimal(0)

# Codes Babel knows; an immutable set so the membership test is cheap and safe to share.
_KNOWN_CURRENCIES: frozenset[str] = frozenset(list_currencies())


class CurrencyError(ValueError):
    """A currency code Babel does not know, or an amount finer than its minor unit."""


def is_known_currency(code: str) -> bool:
    """True when `code` is an ISO 4217 code present in Babel's currency data."""
    return code in _KNOWN_CURRENCIES


@cache
def currency_places(code: str) -> int:
    """Number of decimal places of `code`'s minor unit (CNY 2, JPY 0, KWD 3).

    Raises CurrencyError for a code Babel does not know: its default of 2 places would
    silently misprice a typo such as "CYN".
    """
    if not is_known_currency(code):
        raise CurrencyError(f"unknown currency {code!r}")
    return get_currency_precision(code)


@cache
def minor_unit(code: str) -> Decimal:
    """The currency's smallest amount as a quantize exponent: Decimal('0.01') for CNY."""
    # Cached: the CLDR data are static, and this sits on every schedule's hot path.
    return Decimal(1).scaleb(-currency_places(code))


def round_money(amount: Decimal, code: str) -> Decimal:
    """Round `amount` to `code`'s minor unit, half-up."""
    return amount.quantize(minor_unit(code), ROUND_HALF_UP)


def ceil_money(amount: Decimal, code: str) -> Decimal:
    """Round `amount` up to `code`'s minor unit.

    Used only where rounding protects a policy limit: a minimum down payment or a
    settlement amount must never fall below what the percentage allows.
    """
    return amount.quantize(minor_unit(code), ROUND_CEILING)


def to_decimal(value: object, name: str) -> Decimal:
    """Coerce a Decimal, int or numeric string to a finite Decimal.

    Floats are refused, not converted: 0.1 as a float is not one tenth. Booleans are
    refused too, although Python treats them as ints. Raises ValueError naming `name`.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        kind = type(value).__name__
        raise ValueError(f"{name} must be a Decimal, int or numeric string, not {kind}")
    if isinstance(value, str):
        value = value.strip()
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be finite, not {value!r}")
    return number
