"""portal.formats writes every amount, count and date exactly as Babel's format_currency,
format_decimal and format_date do, in the portal's languages and the date-format locales, for currencies
with 0, 2 and 3 decimals; and leaves amount patterns it does not handle to Babel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from hypothesis import given
from hypothesis import strategies as st

from portal.formats import count_text, currency_text, date_pattern, money_text, percent_text, time_pattern
from portal.i18n import LOCALES

LOCALE_NAMES = (*LOCALES, "en_GB", "en_HK", "zh_Hans_CN", "zh_Hant_HK", "de_CH", "fr", "ar")
CURRENCIES = ("CNY", "HKD", "USD", "EUR", "JPY", "KWD", "MOP", "TWD")

amounts = st.decimals(min_value=Decimal("-1e13"), max_value=Decimal("1e13"), places=4, allow_nan=False)


@given(amount=amounts, locale=st.sampled_from(LOCALE_NAMES), currency=st.sampled_from(CURRENCIES))
def test_the_same_text_as_babel(amount, locale, currency):
    written = currency_text(amount, currency, locale)
    if written is not None:  # None: a pattern this module leaves to Babel
        assert written == format_currency(amount, currency, locale=locale)


@given(amount=amounts, locale=st.sampled_from(LOCALE_NAMES), currency=st.sampled_from(CURRENCIES))
def test_a_kept_amount_is_babels_text_whichever_equal_value_wrote_it_first(amount, locale, currency):
    # 1.5 and 1.50 are equal (one key) and written alike; -0 equals 0 but is written "-¥0.00".
    for value in (amount.quantize(Decimal("0.0001")), amount.normalize(), amount, -amount):
        assert money_text(value, currency, locale) == format_currency(value, currency, locale=locale)


def test_a_kept_zero_keeps_its_sign():
    for text in ("0", "-0", "0.00", "-0.00", "-0.001", "0.001", "0"):
        for locale in LOCALES:
            amount = Decimal(text)
            assert money_text(amount, "CNY", locale) == format_currency(amount, "CNY", locale=locale)
            assert percent_text(amount, 2, locale) == format_percent(amount, format="#,##0.00%", locale=locale)


@given(
    fraction=st.decimals(min_value=Decimal("-2"), max_value=Decimal("2"), places=6, allow_nan=False),
    locale=st.sampled_from(LOCALE_NAMES),
    digits=st.integers(min_value=0, max_value=3),
)
def test_a_kept_rate_is_babels_text_in_each_number_of_decimals(fraction, locale, digits):
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    for value in (fraction, fraction.normalize(), -fraction):
        assert percent_text(value, digits, locale) == format_percent(value, format=pattern, locale=locale)


@given(value=st.integers(min_value=-(10**15), max_value=10**15), locale=st.sampled_from(LOCALE_NAMES))
def test_counts_the_same_as_babel(value, locale):
    written = count_text(value, locale)
    if written is not None:  # None: a negative count or a pattern this module leaves to Babel
        assert written == format_decimal(value, locale=locale)
    assert written is not None or value < 0 or locale not in LOCALES  # the portal's own: all here


def test_the_portal_languages_are_all_handled_here():
    for locale in LOCALES:
        assert count_text(1234567, locale) == format_decimal(1234567, locale=locale)
        for currency in ("CNY", "HKD"):
            assert currency_text(Decimal("1234.5"), currency, locale) is not None


def test_edges_as_babel_writes_them():
    cases = ["0", "-0", "-0.004", "0.005", "0.015", "999.995", "1000000", "-1234.5678", "12345678901.2"]
    for text in cases:
        for locale in LOCALES:
            for currency in ("CNY", "JPY", "KWD"):
                amount = Decimal(text)
                assert currency_text(amount, currency, locale) == format_currency(amount, currency, locale=locale)


def test_text_and_whole_numbers_are_read_as_babel_reads_them():
    # Case-file entries keep amounts as JSON text ("300.00").
    for value in ("300.00", "-12.345", "7", 7, 1234567):
        assert currency_text(value, "CNY", "en") == format_currency(value, "CNY", locale="en")


def test_a_pattern_with_an_iso_code_is_left_to_babel():
    # Swiss German writes "CHF 1’234.50" from "¤ #,##0.00"; an Arabic or a code pattern
    # may differ: whatever is not the plain form must come back as None, never as a guess.
    for locale in LOCALE_NAMES:
        written = currency_text(Decimal("1234.5"), "CHF", locale)
        assert written is None or written == format_currency(Decimal("1234.5"), "CHF", locale=locale)


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    locale=st.sampled_from(LOCALE_NAMES),
    style=st.sampled_from(("full", "long", "medium", "short", "d MMM y", "y/M/d")),
)
def test_dates_as_babel_writes_them(day, locale, style):
    babel_locale, pattern = date_pattern(locale, style)
    assert pattern.apply(day, babel_locale) == format_date(day, style, locale=locale)


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(("Asia/Shanghai", "Asia/Hong_Kong", "Europe/London", "America/New_York", "UTC")),
    locale=st.sampled_from(LOCALE_NAMES),
    style=st.sampled_from(("short", "medium")),
)
def test_times_as_babel_writes_them(moment, zone, locale, style):
    when = moment.astimezone(ZoneInfo(zone))
    babel_locale, pattern = time_pattern(locale, style)
    assert pattern.apply(when, babel_locale) == format_time(when, style, tzinfo=ZoneInfo(zone), locale=locale)


def test_a_p_value_is_written_to_four_places_by_the_locale():
    from flask import Flask
    from flask_babel import Babel, force_locale

    from portal.i18n import p_value

    app = Flask(__name__)
    Babel(app)
    with app.app_context(), force_locale("en"):
        assert p_value(0.00805123) == "0.0081"
        assert p_value(0.00000042) == "< 0.0001"
        assert p_value(1.0) == "1.0000"
        assert p_value(None) == "—"
    with app.app_context(), force_locale("de"):
        assert p_value(0.5) == "0,5000"  # the locale's decimal sign, not Python's
