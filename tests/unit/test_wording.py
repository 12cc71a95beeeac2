"""Words that were wrong once: the current legal term for late charges, and a schedule
that is not a history."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent.parent


def catalog(locale: str):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_simplified_chinese_calls_late_charges_weiyuejin_everywhere():
    texts = [str(m.string) for m in catalog("zh_Hans") if m.id]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "content" / "education" / "zh_Hans").glob("*.md")]
    assert not [t for t in texts if "滞纳金" in t]
    assert catalog("zh_Hans").get("Late fees").string == "违约金"


def test_your_payments_is_a_schedule_not_a_payment_history():
    for locale in ("zh_Hans", "zh_Hant"):
        text = catalog(locale).get("Your payments").string
        assert "记录" not in text and "記錄" not in text and "安排" in text
