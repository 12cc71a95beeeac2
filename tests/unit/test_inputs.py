"""The bounded readers behind every form and the CLI: what they accept and what they refuse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.inputs import InputError, bounded_date, has_control, parse_decimal, parse_int


@pytest.mark.parametrize(
    "text",
    [
        "sNaN",
        "NaN",
        "-Infinity",
        "1e999999",
        "1E+999999999",
        "1e-999999",
        "1e15",
        "9" * 16,
        "0.0000000000001",
        "abc",
        "",
        " ",
        "1" * 65,
    ],
)
def test_parse_decimal_refuses_what_no_amount_or_rate_can_be(text):
    with pytest.raises(InputError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.006", Decimal("0.006")),
        (" 10000.00 ", Decimal("10000.00")),
        ("999999999999999.99", Decimal("999999999999999.99")),
        ("1e-12", Decimal("1e-12")),
        ("-5", Decimal(-5)),
        ("1.50E+2", Decimal(150)),
    ],
)
def test_parse_decimal_keeps_ordinary_numbers(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["²", "١٢٣", "1e5", "0x10", "", "2147483648", "-2147483648", "9" * 13])
def test_parse_int_takes_ascii_digits_within_postgres_integer(text):
    with pytest.raises(InputError):
        parse_int(text)


def test_parse_int_bounds_are_inclusive():
    assert parse_int("20", 0, 20) == 20 and parse_int("+0", 0, 20) == 0
    with pytest.raises(InputError):
        parse_int("21", 0, 20)


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1899, 12, 31), date(2201, 1, 1), date(9999, 12, 31)])
def test_dates_outside_1900_to_2200_are_refused(day):
    with pytest.raises(InputError):
        bounded_date(day)


def test_control_characters_single_line_and_multi_line():
    assert all(has_control(c) for c in ("\x00", "\x1b", "\x7f", "\x85", "\t", "\n", "\r"))
    assert not any(has_control(c, multi_line=True) for c in ("\t", "\n", "\r"))
    assert has_control("a\x00b", multi_line=True) and has_control("\x0b", multi_line=True)
    assert not has_control("李娜 O'Brien <b> ٣ 😀 \u00a0")
