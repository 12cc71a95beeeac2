"""The jurisdictions file: complete in every language, or the portal does not start."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config
from portal.jurisdictions import DEFAULT_FILE, JurisdictionError, load_jurisdictions, parse_jurisdictions

GOOD = """
[SG]
care_phone = "+65 6000 0000"
name = { en = "Singapore", zh_Hans = "新加坡", zh_Hant = "新加坡" }
regulator = { en = "Monetary Authority of Singapore", zh_Hans = "新加坡金融管理局", zh_Hant = "新加坡金融管理局" }
currency_word = { en = "dollars", zh_Hans = "新元", zh_Hant = "新元" }
plan_basis = { en = "the bank's code", zh_Hans = "本行守则", zh_Hant = "本行守則" }
[[SG.debt_advice]]
name = { en = "Credit Counselling", zh_Hans = "信贷辅导", zh_Hant = "信貸輔導" }
phone = "1800 000 000"
[[SG.complaints]]
name = { en = "FIDReC", zh_Hans = "FIDReC", zh_Hant = "FIDReC" }
phone = "6327 8878"
"""


def test_the_shipped_file_defines_mainland_china_and_hong_kong():
    known = load_jurisdictions(DEFAULT_FILE)
    assert set(known) == {"CN", "HK"}
    assert known["CN"].regulator["en"].startswith("National Financial Regulatory Administration")
    assert known["HK"].regulator["zh_Hant"] == "香港金融管理局"
    assert known["HK"].format_locale("en") == "en_HK" and known["HK"].format_locale("zh_Hant") == "zh_Hant"


def test_a_deployment_can_add_a_jurisdiction_and_english_dates_default_to_day_month():
    known = parse_jurisdictions(GOOD)
    assert known["SG"].english_formats == "en_GB" and known["SG"].debt_advice[0].phone == "1800 000 000"


def test_a_text_missing_in_one_language_is_refused():
    with pytest.raises(JurisdictionError, match=r"SG\.regulator has no text for zh_Hant"):
        parse_jurisdictions(GOOD.replace(', zh_Hant = "新加坡金融管理局"', ""))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (GOOD.replace("[SG]", "[sg]").replace("[[SG.", "[[sg."), "two-letter"),
        (GOOD.replace('phone = "1800 000 000"', 'phone = "call us"'), "phone number"),
        (GOOD.replace("[[SG.complaints]]", "[[SG.other]]"), r"SG\.complaints must list"),
        (GOOD.replace("[SG]", '[SG]\nenglish_formats = "xx_YY"'), "Babel locale"),
        ("", "no jurisdiction"),
    ],
)
def test_a_broken_file_is_refused_with_where(bad, message):
    with pytest.raises(JurisdictionError, match=message):
        parse_jurisdictions(bad)


def test_config_reads_another_file_and_checks_the_default(tmp_path: Path):
    path = tmp_path / "j.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_config(tmp_path, {"PORTAL_JURISDICTIONS_FILE": str(path)})
    assert config["DEFAULT_JURISDICTION"] == "SG" and config["CARE_PHONE"] == "+65 6000 0000"
    with pytest.raises(ConfigError, match=r"PORTAL_DEFAULT_JURISDICTION must be one of SG"):
        load_config(tmp_path, {"PORTAL_JURISDICTIONS_FILE": str(path), "PORTAL_DEFAULT_JURISDICTION": "HK"})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path, {"PORTAL_JURISDICTIONS_FILE": str(tmp_path / "missing.toml")})


def test_the_old_single_care_phone_setting_is_refused_rather_than_ignored(tmp_path: Path):
    with pytest.raises(ConfigError, match="PORTAL_CARE_PHONE"):
        load_config(tmp_path, {"PORTAL_CARE_PHONE": "400 123 4567"})


def test_the_signing_time_puts_the_offset_after_the_time_in_chinese(app):
    from flask_babel import force_locale

    from portal.i18n import time_with_offset

    signed = datetime(2026, 12, 30, 6, 5, tzinfo=UTC)
    with app.test_request_context(), force_locale("zh_Hans"):
        assert time_with_offset(signed, "Asia/Shanghai") == "2026年12月30日 14:05:00 GMT+08:00"
    with app.test_request_context(), force_locale("en"):
        assert time_with_offset(signed, "Asia/Shanghai") == "30 Dec 2026, 14:05:00 GMT+08:00"


def test_a_kept_date_follows_the_jurisdiction_the_zone_and_the_style(app):
    """local_date keeps what it wrote, keyed by the day in its zone, the style and the
    format locale: the same day reads as each account's English and each language writes it."""
    from babel.dates import format_date
    from flask_babel import force_locale

    from portal import jurisdictions
    from portal.i18n import local_date

    day = date(2027, 2, 1)
    late = datetime(2027, 1, 31, 17, 30, tzinfo=UTC)  # 1 February in Shanghai, still 31 January in London
    with app.test_request_context():
        for _ in range(2):  # written, then kept
            for language in ("en", "zh_Hans", "zh_Hant"):
                for code in ("CN", "HK"):
                    with force_locale(language), jurisdictions.serving(code) as place:
                        locale = place.format_locale(language)
                        short = "short" if language != "en" else "medium"  # a day-first short date is not used
                        assert local_date(day) == format_date(day, "long", locale=locale)
                        assert local_date(day, "short") == format_date(day, short, locale=locale)
                        assert local_date(late, "long", "Asia/Shanghai") == format_date(day, "long", locale=locale)
                        assert local_date(late, "long", "Europe/London") == format_date(
                            date(2027, 1, 31), "long", locale=locale
                        )
        with force_locale("en"), jurisdictions.serving("CN"):
            british = local_date(day, "medium")
        with force_locale("en"), jurisdictions.serving("HK"):
            assert local_date(day, "medium") == format_date(day, "medium", locale="en_HK")
        assert british == format_date(day, "medium", locale="en_GB")


def test_an_account_in_an_unconfigured_jurisdiction_gets_the_default_and_a_warning(app, monkeypatch):
    from portal import jurisdictions

    warnings: list[str] = []
    monkeypatch.setattr(app.logger, "warning", lambda message, *args: warnings.append(message % args))
    with app.app_context():
        assert jurisdictions.get("SG").code == app.config["DEFAULT_JURISDICTION"]
        assert jurisdictions.get("HK").code == "HK"
    assert warnings == ["jurisdiction SG is not configured; using the default"]
