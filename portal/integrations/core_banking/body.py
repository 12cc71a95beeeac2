"""Reading a call's JSON: an object of known fields, amounts as strings, never a float.

Numbers in JSON are parsed as ``Decimal`` (``parse_float``), never through a binary
float, and an amount given as a number is refused with a clear 422: the sender must
write it as a string (``"245.50"``), exactly as on its books. Every refusal names the
field at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from portal.domain.money import CurrencyError, currency_places
from portal.inputs import MAX_INT, MAX_YEAR, MIN_YEAR
from portal.integrations.core_banking.errors import ApiRefusal

_AMOUNT = re.compile(r"[0-9]{1,14}(\.[0-9]{1,4})?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 date-time: a "T" (or "t" / space), seconds, optional fraction, "Z" or an offset.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_object(body: bytes, known: Collection[str]) -> dict[str, Any]:
    """The JSON object ``body`` holds, with no field outside ``known``."""
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiRefusal(400, "invalid_json", "The body is not valid UTF-8 JSON.") from None
    if not isinstance(data, dict):
        raise ApiRefusal(400, "invalid_json", "The body must be a JSON object.")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ApiRefusal(422, "unknown_field", f"Unknown field {unknown[0]!r}.", unknown[0])
    return data


def _invalid(field: str, message: str) -> ApiRefusal:
    return ApiRefusal(422, "invalid_field", message, field)


def required(data: dict[str, Any], field: str) -> Any:
    if data.get(field) is None:
        raise ApiRefusal(422, "missing_field", f"{field} is required.", field)
    return data[field]


def places(currency: str, field: str = "currency") -> int:
    try:
        return currency_places(currency)
    except CurrencyError:
        raise _invalid(field, f"{currency!r} is not a currency the portal knows.") from None


def amount(data: dict[str, Any], field: str, currency: str, *, positive: bool = False) -> Decimal:
    """A non-negative (or positive) amount, written as a string, in ``currency``'s minor unit."""
    value = required(data, field)
    if not isinstance(value, str):
        raise _invalid(field, f'{field} must be a string such as "245.50", not a JSON number: amounts are exact.')
    if not _AMOUNT.fullmatch(value):
        raise _invalid(field, f'{field} must be a plain decimal such as "245.50" (no sign, no exponent).')
    number = Decimal(value)
    if number != number.quantize(Decimal(1).scaleb(-places(currency))):
        raise _invalid(field, f"{field} has more decimal places than {currency} allows.")
    if positive and number <= 0:
        raise _invalid(field, f"{field} must be more than zero.")
    return number


def text(data: dict[str, Any], field: str, max_length: int, *, optional: bool = False) -> str | None:
    value = data.get(field)
    if value is None and optional:
        return None
    value = required(data, field)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, f"{field} must be a non-empty string.")
    if len(value) > max_length:
        raise _invalid(field, f"{field} must be at most {max_length} characters.")
    return value


def whole(data: dict[str, Any], field: str, low: int = 0, high: int = MAX_INT) -> int:
    value = required(data, field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"{field} must be a whole number.")
    if not low <= value <= high:
        raise _invalid(field, f"{field} must be from {low} to {high}.")
    return value


def day(data: dict[str, Any], field: str, *, optional: bool = False) -> date | None:
    value = data.get(field)
    if value is None and optional:
        return None
    value = required(data, field)
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise _invalid(field, f"{field} must be a date such as 2026-12-15.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _invalid(field, f"{field} is not a real date.") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _invalid(field, f"{field} must be between {MIN_YEAR} and {MAX_YEAR}.")
    return parsed


def timestamp(data: dict[str, Any], field: str) -> datetime:
    """An RFC 3339 date-time with its offset (``2026-11-30T22:00:00+08:00``), aware."""
    value = required(data, field)
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise _invalid(field, f"{field} must be an RFC 3339 time with its offset, such as 2026-11-30T22:00:00+08:00.")
    try:
        parsed = datetime.fromisoformat(value.upper().replace(" ", "T"))
    except ValueError:
        raise _invalid(field, f"{field} is not a real time.") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _invalid(field, f"{field} must be between {MIN_YEAR} and {MAX_YEAR}.")
    return parsed


def choice(data: dict[str, Any], field: str, allowed: Collection[str]) -> str:
    value = required(data, field)
    if not isinstance(value, str) or value not in allowed:
        raise _invalid(field, f"{field} must be one of {', '.join(sorted(allowed))}.")
    return str(value)
