"""Locales: which one a request gets, and Babel formatting for templates.

The portal speaks English, Simplified and Traditional Chinese. Browsers say
``zh-CN``/``zh-TW``/``zh-HK`` rather than script subtags, so negotiation maps regions to
scripts before matching.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_gmt
from babel.numbers import format_currency as babel_format_currency
from babel.numbers import format_percent as babel_format_percent
from flask import Flask, has_app_context, request, session
from flask_babel import format_decimal, get_timezone, get_translations

from portal import jurisdictions
from portal.formats import (
    count_text,
    currency_text,
    date_pattern,
    money_text,
    percent_pattern,
    percent_text,
    time_pattern,
)
from portal.locales import active_locale, babel_state, locale_name

LOCALES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
DEFAULT_LOCALE = "en"
_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}


def match_language_tag(tag: str) -> str | None:
    """Map one Accept-Language tag (``zh-TW``, ``zh-Hans-CN``, ``en-GB``) to a locale."""
    parts = tag.replace("_", "-").lower().split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] != "zh":
        return None
    if "hant" in parts[1:] or any(p in _TRADITIONAL_REGIONS for p in parts[1:]):
        return "zh_Hant"
    return "zh_Hans"


def negotiate(accept_language: list[tuple[str, float]]) -> str:
    """The best supported locale for a parsed Accept-Language header (by quality)."""
    for tag, _quality in sorted(accept_language, key=lambda item: -item[1]):
        found = match_language_tag(tag)
        if found:
            return found
    return DEFAULT_LOCALE


def select_locale() -> str:
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return negotiate(list(request.accept_languages))


def html_lang() -> str:
    """The BCP 47 tag for the ``lang`` attribute."""
    return locale_name().replace("_", "-")


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in its currency, formatted for the active locale (CN¥1,234.50, HK$…)."""
    if amount is None:
        return ""
    # Babel's own text, from locale data read once per locale and currency and, for an
    # amount (not JSON text), kept once written (portal.formats).
    if isinstance(amount, Decimal):
        return money_text(amount, currency, locale_name())
    locale = active_locale()
    return currency_text(amount, currency, locale) or babel_format_currency(amount, currency, locale=locale)


def percent(fraction: Decimal, digits: int = 2) -> str:
    """A fraction (0.1303) as a locale percentage with ``digits`` decimals (13.03%)."""
    if isinstance(fraction, Decimal):  # a plan's rate: kept once written (portal.formats)
        return percent_text(fraction, digits, locale_name())
    # As flask_babel's format_percent writes it, its locale read once.
    return babel_format_percent(fraction, format=percent_pattern(digits), locale=active_locale())


def date_locale() -> str:
    """The locale whose date patterns the active language uses here: English dates for an
    account in China or Hong Kong read day-month ("30 Dec 2026", never "Dec 30, 2026");
    which English patterns is the account's jurisdiction's setting."""
    locale = locale_name()
    return (jurisdictions.current() or jurisdictions.get(None)).format_locale(locale)


def local_date(value: date | datetime | str | None, style: str = "long", tz: str | None = None) -> str:
    """A date for the active locale; an aware datetime is first moved to ``tz``.

    An ISO date string ("2026-10-22", as case-event JSON stores dates) is read first; a
    string that is not one is shown as it is rather than failing the page."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz) if tz else get_timezone()).date()
    return _date_text(value, style, date_locale())


DATES_KEPT = 4096  # written dates kept per worker; a page shows a few, a schedule a few dozen


@lru_cache(maxsize=DATES_KEPT)
def _date_text(day: date, style: str, locale: str) -> str:
    """:func:`local_date`'s text for a day already in the zone it is shown in: it depends on
    nothing else, so it is written once per key and kept (least recently used out)."""
    if style == "short" and not str(date_pattern(locale, "short")[1]).startswith("y"):
        # "1/2/2027" is read as 1 February or as January 2 depending on where one grew
        # up; only a year-first short date ("2027/2/1") is safe. Others name the month.
        style = "medium"
    babel_locale, pattern = date_pattern(locale, style)  # babel's format_date, its look-ups kept
    return pattern.apply(day, babel_locale)


def local_datetime(value: datetime | str | None, style: str = "medium", tz: str | None = None) -> str:
    """Date and time in ``tz`` (default: the request's zone), e.g. for messages.

    "short" is the medium date with the short time ("30 Dec 2026, 14:05"): a numeric
    short date ("30/12/2026") is misread wherever the other order is usual. An ISO time
    with its offset (as case-event JSON stores times) is read first; other text, or a
    time without an offset, is shown as it is rather than failing the page."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is None:
            return value
        value = parsed
    zone = ZoneInfo(tz) if tz else get_timezone()
    locale = date_locale()
    if style == "short":
        when = value.astimezone(zone)
        # Babel's format_date and format_time, with their patterns parsed once per locale.
        date_locale_, day = date_pattern(locale, "medium")
        pattern = date_locale_.datetime_formats["medium"]
        time_locale, hour = time_pattern(locale, "short")
        return (
            str(pattern)
            .replace("{1}", day.apply(when.date(), date_locale_))
            .replace("{0}", hour.apply(when, time_locale))
        )
    return babel_format_datetime(value, style, tzinfo=zone, locale=locale)


def time_with_offset(value: datetime | None, tz: str | None = None) -> str:
    """Date and time as the locale writes them, then the UTC offset: "2026年12月30日 14:05:00
    GMT+08:00". Babel's long style puts the offset before the time in Simplified Chinese."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if tz else get_timezone()
    locale = date_locale()
    when = babel_format_datetime(value, "medium", tzinfo=zone, locale=locale)
    return f"{when} {get_timezone_gmt(value.astimezone(zone), 'long', locale=locale)}"


def number(value: int | Decimal) -> str:
    # A count (days past due, accounts in a tab) from the locale's symbols read once; any
    # other number as Babel writes it.
    written = count_text(value, locale_name()) if isinstance(value, int) else None
    return written if written is not None else format_decimal(value)


def p_value(value: float | None) -> str:
    """A p-value to four places as the locale writes decimals ("< 0.0001" below that)."""
    if value is None:
        return "—"
    if value < 0.0001:
        return "< " + format_decimal(Decimal("0.0001"), format="0.0000")
    return format_decimal(Decimal(repr(value)), format="0.0000")


def _translations() -> Any:
    """The request's catalogue, as flask_babel's ``get_translations()`` finds it, kept for
    the rest of the request beside the locale it is for: a template's ``_()`` then costs
    a dictionary look-up, not three context look-ups and a locale parse. A changed
    locale (``force_locale``, ``refresh``) is a different object, so it is looked up again."""
    if not has_app_context():  # flask_babel's own answer (no translations)
        return get_translations()
    state = babel_state()
    kept = getattr(state, "portal_translations", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]
    translations = get_translations()
    state = babel_state()
    if state is not None:
        state.portal_translations = (getattr(state, "babel_locale", None), translations)
    return translations


def gettext(string: str, **variables: Any) -> str:
    """flask_babel's ``gettext``, from the catalogue :func:`_translations` keeps for this
    context: the same text for a fraction of the cost (flask_babel finds its domain, its
    catalogue cache and the locale through context proxies on every call)."""
    text: str = _translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """flask_babel's ``ngettext`` (``num`` is a variable too), as :func:`gettext`."""
    variables.setdefault("num", num)
    text: str = _translations().ungettext(singular, plural, num)
    return text % variables


def init_app(app: Flask) -> None:
    """After ``babel.init_app``: templates translate through :func:`_translations`."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters.update(
        money=money,
        percent=percent,
        local_date=local_date,
        local_datetime=local_datetime,
        number=number,
        p_value=p_value,
        time_with_offset=time_with_offset,
    )
    app.jinja_env.globals.update(
        LOCALES=LOCALES,
        html_lang=html_lang,
        current_locale=locale_name,
        jurisdiction=jurisdictions.current,
        jurisdictions=jurisdictions.configured,
        jtext=jurisdictions.text,
        care_phone=jurisdictions.care_phone,
    )
