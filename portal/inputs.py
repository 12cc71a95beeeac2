"""Input normalised once, at the edge: no request can turn bad input into a 500.

Two parts. A ``before_request`` hook refuses control characters in every query argument,
form field, JSON string and path value (query strings are single-line, so there even tab and line
breaks are refused; a form may carry them, for its text areas). And bounded readers for
numbers and dates, used by every form field (``PortalForm`` prepends :func:`bounded` to
each number and date field) and by hand-written parsers: a decimal is finite with a sane
exponent, an integer fits PostgreSQL's ``integer``, a date's year is between 1900 and 2200.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from wtforms import Field
from wtforms.validators import StopValidation

# Unicode category Cc: C0 controls, DEL and C1 controls.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_CONTROL_IN_LINE = re.compile(f"[{_CONTROL}]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF and CR allowed

MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_INT = 2**31 - 1  # PostgreSQL ``integer``
MAX_DIGITS = 15  # integer digits of any number we accept (money columns are far smaller)
MAX_PLACES = 12  # decimal places
MAX_NUMBER_TEXT = 64


class InputError(ValueError):
    """A value outside what the portal reads; ``str()`` is a translated message."""


class ControlCharacterError(BadRequest):
    """A request carried a control character: refused before any view sees it."""

    description = "control character"


def has_control(text: str, *, multi_line: bool = False) -> bool:
    return (_CONTROL_IN_TEXT if multi_line else _CONTROL_IN_LINE).search(text) is not None


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})  # what request.form parses

# Views that read control characters themselves and must not lose the message: a text
# reply badly decoded by the SMS gateway may still say STOP.
_CLEANS_ITS_OWN_INPUT: set[str] = set()


def cleans_its_own_input(view: Any) -> Any:
    """Mark ``view`` as removing control characters itself (see :func:`without_controls`)."""
    _CLEANS_ITS_OWN_INPUT.add(f"{view.__module__}.{view.__name__}")
    return view


def without_controls(text: str) -> str:
    """``text`` with every control character removed."""
    return _CONTROL_IN_LINE.sub("", text)


def refuse_control_characters() -> None:
    """Before every request: a control character anywhere the views read is a 400."""
    from flask import current_app

    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy look-up, not one per read
    environ = req.environ
    strings: list[str] = []
    # Only a body that says what it is gets parsed: a GET (no Content-Type) skips both.
    content_type = environ.get("CONTENT_TYPE")
    if content_type and req.is_json:
        try:
            strings = list(_strings(req.get_json(silent=True)))
        except RecursionError:  # nested deeper than Python's parser (or this walk) goes
            raise BadRequest() from None
    view = current_app.view_functions.get(req.endpoint or "")
    if view is not None and f"{view.__module__}.{view.__name__}" in _CLEANS_ITS_OWN_INPUT:
        return
    view_args = [(k, v) for k, v in (req.view_args or {}).items() if isinstance(v, str)]
    # request.args is parsed only when there is a query string.
    query = req.args.items(multi=True) if environ.get("QUERY_STRING") else ()
    for key, value in [*query, *view_args]:
        if has_control(key) or has_control(value):
            raise ControlCharacterError()
    # request.form is empty unless the body is a form: only then parse it (not on every GET).
    form = req.form.items(multi=True) if content_type and req.mimetype in _FORM_TYPES else ()
    for key, value in form:
        if has_control(key) or has_control(value, multi_line=True):
            raise ControlCharacterError()
    if any(has_control(text, multi_line=True) for text in strings):
        raise ControlCharacterError()
    if has_control(environ.get("HTTP_USER_AGENT", "")):  # kept as signing evidence
        raise ControlCharacterError()


def _strings(data: Any) -> Iterator[str]:
    """Every key and string value in a JSON document."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def bounded_decimal(number: Decimal) -> Decimal:
    """``number`` if finite with at most MAX_DIGITS integer digits and MAX_PLACES places."""
    if not number.is_finite():
        raise InputError(_l("Enter a number."))
    exponent = number.as_tuple().exponent
    if number.adjusted() >= MAX_DIGITS:
        raise InputError(_l("Enter a smaller number."))
    if isinstance(exponent, int) and exponent < -MAX_PLACES and number != round(number, MAX_PLACES):
        raise InputError(_l("Enter a number with fewer decimal places."))
    return number


def parse_decimal(text: str) -> Decimal:
    """A bounded decimal from text (no NaN, sNaN, Infinity or huge exponents)."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_NUMBER_TEXT:
        raise InputError(_l("Enter a number."))
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(_l("Enter a number.")) from None
    return bounded_decimal(number)


def bounded_int(number: int, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    if not low <= number <= high:
        raise InputError(_l("That number is out of range."))
    return number


def parse_int(text: str, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    """A bounded whole number from ASCII digits (``²`` and ``1e5`` are not numbers here)."""
    cleaned = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", cleaned):
        raise InputError(_l("Enter a whole number, e.g. 12."))
    return bounded_int(int(cleaned), low, high)


def bounded_date(day: date) -> date:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InputError(_l("Enter a date between %(low)s and %(high)s.", low=MIN_YEAR, high=MAX_YEAR))
    return day


def bounded(form: Any, field: Field) -> None:
    """WTForms validator run first on every number and date field of a ``PortalForm``."""
    value = field.data
    try:
        if isinstance(value, Decimal):
            bounded_decimal(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            bounded_int(value)
        elif isinstance(value, date):
            bounded_date(value)
    except InputError as error:
        raise StopValidation(str(error)) from None


def init_app(app: Flask) -> None:
    app.before_request(refuse_control_characters)
